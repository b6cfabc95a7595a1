/** Debian binary packages: the reader, the control file, versions. Pure code (no I/O). */
export { DebReader, parseDeb, readDeb } from './reader.ts';
export type { DebParseResult, DebReaderOptions } from './reader.ts';
export { DebControl, parseDebControl, parseControlFields, parseSourceField, packageNameError, architectureError } from './control.ts';
export type { DebControlField } from './control.ts';
export {
  compareDebVersions,
  debVersionError,
  formatDebVersion,
  isValidDebVersion,
  parseDebVersion,
  verrevcmp,
  versionWithoutEpoch,
} from './version.ts';
export type { DebVersion } from './version.ts';
