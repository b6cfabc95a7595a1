import type { PackageCheck } from '../check.ts';

/** Imports: the bytes must be the ones the upstream catalog lists. An upload has nothing to compare with. */
export const provenanceCheck: PackageCheck = {
  name: 'provenance',
  run(c) {
    if (!c.expectedSha256) {
      return { passed: true, action: 'allow', message: 'not verifiable: uploaded directly, there is no upstream catalog to compare with', detail: { status: 'not_verifiable' } };
    }
    if (c.expectedSha256 === c.sha256) return { passed: true, action: 'allow', message: 'sha256 matches the upstream catalog', detail: { status: 'verified' } };
    return {
      passed: false,
      action: 'block',
      message: `sha256 ${c.sha256} differs from the upstream catalog's ${c.expectedSha256}`,
      detail: { status: 'mismatch', expected: c.expectedSha256, actual: c.sha256 },
    };
  },
};
