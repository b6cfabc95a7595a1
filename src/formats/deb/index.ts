/** Debian binary packages: the reader, the control file, versions. Pure code (no I/O). */

export type { DebControlField } from './control.ts';
export { architectureError, DebControl, packageNameError, parseControlFields, parseDebControl, parseSourceField } from './control.ts';
export type { DebParseResult, DebReaderOptions } from './reader.ts';
export { DebReader, parseDeb, readDeb } from './reader.ts';
export type { DebVersion } from './version.ts';
export {
  compareDebVersions,
  debVersionError,
  formatDebVersion,
  isValidDebVersion,
  parseDebVersion,
  verrevcmp,
  versionWithoutEpoch,
} from './version.ts';
