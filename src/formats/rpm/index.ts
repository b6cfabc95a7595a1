/** The RPM format: package parsing (pure, streaming-friendly) and version comparison. */

export { createrepoChangelogs } from './changelog.ts';
export { isPrimaryFile } from './dependencies.ts';
export type { RpmLead } from './lead.ts';
export type { RpmChangelog, RpmDependency, RpmFile, RpmFileFacts, RpmPackage } from './model.ts';
export type { RpmParseResult, RpmReaderOptions } from './reader.ts';
export { parseRpm, RpmReader } from './reader.ts';
export type { ByteRange, RpmRawTag, RpmSignatureHeader } from './signature.ts';
export type { Evr } from './vercmp.ts';
export { compareEvr, rpmvercmp } from './vercmp.ts';
