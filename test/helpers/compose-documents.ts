/**
 * A modulemd stream (one module stream and its defaults) the compose-document tests upload and
 * real dnf reads: module `repodmod`, stream `stable`, whose one artifact is modpkg-1.0-1.
 */
export const TEST_MODULES = `---
document: modulemd
version: 2
data:
  name: repodmod
  stream: "stable"
  version: 20240101000000
  context: c0ffee42
  arch: noarch
  summary: A test module
  description: >-
    A module of the repod tests.
  license:
    module: [MIT]
  profiles:
    default:
      rpms: [modpkg]
  artifacts:
    rpms:
    - modpkg-0:1.0-1.module_r1.noarch
...
---
document: modulemd-defaults
version: 1
data:
  module: repodmod
  profiles:
    stable: [default]
...
`;
