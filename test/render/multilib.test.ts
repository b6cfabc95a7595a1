/**
 * The pure multilib and debuginfo rules: pungi's methods decided from one package's own name,
 * provides and files; the blacklist and whitelist; the configuration checks made at start.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { joinKey } from '../../src/bucket/keys.ts';
import { Distributions } from '../../src/config/distributions.ts';
import { type MultilibSetting, validateMultilib } from '../../src/config/multilib.ts';
import { isDebugPackageName, isDevelPackage, isRuntimePackage, multilibChooses, multilibFactsFromXml } from '../../src/metadata/rpm/multilib.ts';
import { hasDebugRepo, rpmViewSelection } from '../../src/render/rpm-view-selection.ts';

const facts = (name: string, files: string[] = [], provides: string[] = []) => ({ name, files, provides });

const PACKAGES = {
  lib: facts('libfoo', ['/usr/lib/libfoo.so.1', '/usr/lib/libfoo.so.1.2.3'], ['libfoo.so.1', 'libfoo']),
  pam: facts('pam-extra', ['/usr/lib/security/pam_extra.so']),
  devel: facts('libfoo-devel', ['/usr/include/foo.h', '/usr/lib/libfoo.so']),
  static: facts('libfoo-static', ['/usr/lib/libfoo.a']),
  link: facts('oddly-named', ['/usr/lib/libodd.so']),
  pc: facts('pcfiles', ['/usr/lib/pkgconfig/odd.pc']),
  providesDevel: facts('compat-headers', ['/usr/include/c.h'], ['compat-devel']),
  tool: facts('tool', ['/usr/bin/tool', '/usr/share/tool/data.so.1']),
  kernel: facts('kernel-core', ['/lib/modules/6.1/vmlinuz', '/usr/lib/libkernelish.so.1']),
  debuginfo: facts('libfoo-debuginfo', ['/usr/lib/debug/usr/lib/libfoo.so.1.debug']),
};

const chosen = (setting: MultilibSetting) =>
  Object.entries(PACKAGES)
    .filter(([, f]) => multilibChooses(setting, f))
    .map(([k]) => k);

describe('debuginfo names', () => {
  it('end in -debuginfo or -debugsource, or contain -debuginfo-', () => {
    for (const name of ['foo-debuginfo', 'foo-debugsource', 'glibc-debuginfo-common', 'kernel-debuginfo-common-x86_64']) assert.equal(isDebugPackageName(name), true, name);
    for (const name of ['foo', 'debuginfo-tools', 'foo-debug', 'foo-debugsources', 'debugsource']) assert.equal(isDebugPackageName(name), false, name);
  });
});

describe('multilib methods', () => {
  it('runtime: shared libraries in library directories and runtime-loaded modules', () => {
    assert.equal(isRuntimePackage(PACKAGES.lib), true);
    assert.equal(isRuntimePackage(PACKAGES.pam), true);
    assert.equal(isRuntimePackage(PACKAGES.devel), false);
    assert.equal(isRuntimePackage(PACKAGES.tool), false, 'a .so.N outside a library directory');
    assert.equal(isRuntimePackage(PACKAGES.kernel), false);
    assert.equal(isRuntimePackage(PACKAGES.debuginfo), false);
  });

  it('devel: runtime plus -devel/-static names or provides, .so links and pkg-config files', () => {
    for (const k of ['lib', 'pam', 'devel', 'static', 'link', 'pc', 'providesDevel'] as const) assert.equal(isDevelPackage(PACKAGES[k]), true, k);
    for (const k of ['tool', 'kernel', 'debuginfo'] as const) assert.equal(isDevelPackage(PACKAGES[k]), false, k);
  });

  it('policies choose none, runtime, devel or all; never debuginfo', () => {
    assert.deepEqual(chosen({ policy: 'none' }), []);
    assert.deepEqual(chosen({ policy: 'runtime' }), ['lib', 'pam']);
    assert.deepEqual(chosen({ policy: 'devel' }), ['lib', 'pam', 'devel', 'static', 'link', 'pc', 'providesDevel']);
    assert.deepEqual(chosen({ policy: 'all' }), ['lib', 'pam', 'devel', 'static', 'link', 'pc', 'providesDevel', 'tool', 'kernel']);
  });

  it('the whitelist adds by name, the blacklist removes, and wins over the whitelist; none stays off', () => {
    assert.deepEqual(chosen({ policy: 'runtime', whitelist: ['tool'], blacklist: ['pam-extra'] }), ['lib', 'tool']);
    assert.deepEqual(chosen({ policy: 'runtime', whitelist: ['libfoo'], blacklist: ['libfoo'] }), ['pam']);
    assert.deepEqual(chosen({ policy: 'none', whitelist: ['tool'] }), []);
  });
});

describe('facts from the entry fragments', () => {
  it('reads the name, provides and non-directory files of primary and filelists elements', () => {
    const primary = `<package type="rpm">
  <name>lib&amp;foo</name>
  <arch>i686</arch>
  <format>
    <rpm:provides>
      <rpm:entry name="libfoo.so.1"/>
      <rpm:entry name="lib&amp;foo" flags="EQ" epoch="0" ver="1" rel="1"/>
    </rpm:provides>
    <rpm:requires>
      <rpm:entry name="libc.so.6"/>
    </rpm:requires>
    <file>/usr/bin/x</file>
  </format>
</package>
`;
    const filelists = `<package pkgid="x" name="lib&amp;foo" arch="i686">
  <version epoch="0" ver="1" rel="1"/>
  <file type="dir">/usr/lib/foo</file>
  <file>/usr/lib/libfoo.so.1</file>
  <file type="ghost">/var/log/foo.log</file>
</package>
`;
    assert.deepEqual(multilibFactsFromXml(primary, filelists), { name: 'lib&foo', provides: ['libfoo.so.1', 'lib&foo'], files: ['/usr/lib/libfoo.so.1', '/var/log/foo.log'] });
  });
});

describe('configuration', () => {
  const rpm = (extra: object) => JSON.stringify({ distributions: [{ kind: 'rpm', name: 'ml', architectures: ['x86_64', 'i686'], ...extra }] });
  it('accepts a policy on a distribution with x86_64 and i686', () => {
    assert.doesNotThrow(() => Distributions.fromJson(rpm({ multilib: { policy: 'devel', blacklist: ['a'], whitelist: ['b'] } })));
    assert.doesNotThrow(() => validateMultilib('ml', ['x86_64', 'i686'], undefined));
  });
  it('refuses an unknown policy or arch, a distribution lacking an arch, and malformed lists', () => {
    const refused = (text: string, pattern: RegExp) =>
      assert.throws(
        () => Distributions.fromJson(text),
        (e: Error & { code?: string }) => e.code === 'invalid_config' && pattern.test(e.message),
      );
    refused(rpm({ multilib: { policy: 'some' } }), /policy must be one of/);
    refused(rpm({ multilib: { policy: 'all', arch: 'sparc64' } }), /arch "sparc64"/);
    refused(rpm({ multilib: { policy: 'all', compat: 'armv7hl' } }), /compat "armv7hl"/);
    refused(rpm({ multilib: { policy: 'all', blacklist: 'libfoo' } }), /blacklist must be a list/);
    refused(rpm({ multilib: { policy: 'all', arches: ['i686'] } }), /unknown field "arches"/);
    refused(JSON.stringify({ distributions: [{ kind: 'rpm', name: 'ml', architectures: ['x86_64'], multilib: { policy: 'runtime' } }] }), /arch i686, which is not among/);
    refused(JSON.stringify({ distributions: [{ kind: 'rpm', name: 'ml', architectures: ['x86_64', 'debug'] }] }), /"debug" cannot be an architecture/);
  });
});

describe('debuginfo: split or inline', () => {
  const entry = (name: string, arch: string) => ({
    key: joinKey(name, arch, '1.0', '1'),
    id: 'x'.repeat(64),
    arch,
    file: `${name}-1.0-1.${arch}.rpm`,
    label: name,
    rawLengths: [],
  });
  const dist = (debuginfo?: 'split' | 'inline') => ({ kind: 'rpm' as const, name: 'd', architectures: ['x86_64'], ...(debuginfo ? { debuginfo } : {}) });

  it('split (the default) keeps debuginfo out of the main repository and in <arch>/debug/', () => {
    const main = rpmViewSelection(dist(), 'x86_64', 'main');
    const debug = rpmViewSelection(dist(), 'x86_64', 'debug');
    assert.equal(main.entry(entry('foo-debuginfo', 'x86_64')), false);
    assert.equal(main.entry(entry('foo', 'x86_64')), true);
    assert.equal(debug.entry(entry('foo-debuginfo', 'x86_64')), true);
    assert.equal(hasDebugRepo(dist(), 'x86_64'), true);
  });

  it('inline (mkrepo trees) lists debuginfo with the others and has no debug repository', () => {
    assert.equal(rpmViewSelection(dist('inline'), 'x86_64', 'main').entry(entry('foo-debuginfo', 'x86_64')), true);
    assert.equal(hasDebugRepo(dist('inline'), 'x86_64'), false);
    assert.throws(() => new Distributions([{ ...dist(), debuginfo: 'both' as 'inline' }]), /debuginfo must be "split" or "inline"/);
  });
});
