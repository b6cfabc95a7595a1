import type { PackageCheck } from '../check.ts';

/** The package parsed (staging refuses anything else): what it is and how big. */
export const formatCheck: PackageCheck = {
  name: 'format',
  run(c) {
    if (c.staged?.kind === 'rpm') return { passed: true, action: 'allow', message: `valid RPM (${c.staged.size} bytes)`, detail: { status: 'valid' } };
    if (c.staged?.kind === 'deb')
      return { passed: true, action: 'allow', message: `valid .deb, format ${c.staged.parsed.formatVersion} (${c.staged.size} bytes)`, detail: { status: 'valid' } };
    return { passed: true, action: 'allow', message: 'already in the store, read when it was uploaded', detail: { status: 'valid' } };
  },
};
