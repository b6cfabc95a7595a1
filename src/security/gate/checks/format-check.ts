import type { PackageCheck } from '../check.ts';

/** The package parsed (staging refuses anything else): what it is and how big. */
export const formatCheck: PackageCheck = {
  name: 'format',
  run(c) {
    if (c.staged?.kind === 'rpm') return { passed: true, action: 'allow', message: `valid RPM (${c.staged.size} bytes)`, detail: { status: 'valid' } };
    if (c.staged?.kind === 'deb')
      return { passed: true, action: 'allow', message: `valid .deb, format ${c.staged.parsed.formatVersion} (${c.staged.size} bytes)`, detail: { status: 'valid' } };
    if (c.source) {
      const { dsc } = c.source;
      const bytes = [c.source.self, ...c.source.files].reduce((n, f) => n + f.size, 0);
      return {
        passed: true,
        action: 'allow',
        message: `valid .dsc, format ${dsc.format}, with the ${dsc.files.length} file${dsc.files.length === 1 ? '' : 's'} it names, each matching its size and checksums (${bytes} bytes)`,
        detail: { status: 'valid', format: dsc.format, files: [c.source.self, ...c.source.files].map((f) => f.name) },
      };
    }
    return { passed: true, action: 'allow', message: 'already in the store, read when it was uploaded', detail: { status: 'valid' } };
  },
};
