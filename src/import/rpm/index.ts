export type { UpstreamFetch } from '../upstream-fetch.ts';
export { DEFAULT_RPM_INDEX_LIMITS, type RpmIndexLimits, rpmIndexLimits } from './limits.ts';
export { type PrimaryReadSummary, type ReadPrimaryOptions, readPrimary } from './primary.ts';
export { type PrimaryParseSummary, PrimaryXmlParser } from './primary-parser.ts';
export { parseRepomd, primaryData, type ReadRepomdOptions, type RepomdChecksum, type RepomdData, readRepomd, repomdDataUrl, type UpstreamRepomd } from './repomd.ts';
export { type UpstreamRpmPackage, upstreamPackageUrl } from './upstream-package.ts';
