/**
 * Tag numbers, data types and flag bits of the RPM header format, as rpm's include/rpm/rpmtag.h,
 * rpmds.h and rpmfiles.h define them. Only what this parser reads is listed.
 */

/** On-disk data types of header entries (rpmTagType). */
export const TagType = {
  NULL: 0,
  CHAR: 1,
  INT8: 2,
  INT16: 3,
  INT32: 4,
  INT64: 5,
  STRING: 6,
  BIN: 7,
  STRING_ARRAY: 8,
  I18NSTRING: 9,
} as const;
export type TagTypeValue = (typeof TagType)[keyof typeof TagType];

export const TYPE_NAMES = ['NULL', 'CHAR', 'INT8', 'INT16', 'INT32', 'INT64', 'STRING', 'BIN', 'STRING_ARRAY', 'I18NSTRING'] as const;

/** Size of one item of each type; -1 for the NUL-terminated string types (rpm's typeSizes). */
export const TYPE_SIZES = [0, 1, 1, 2, 4, 8, -1, 1, -1, -1] as const;
/** Alignment of the data of each type inside the data store (rpm's typeAlign). */
export const TYPE_ALIGN = [1, 1, 1, 2, 4, 8, 1, 1, 1, 1] as const;

export function isStringType(type: number): boolean {
  return type === TagType.STRING || type === TagType.STRING_ARRAY || type === TagType.I18NSTRING;
}

/** Region tags: the first index entry of a v4 header describes the region that the rest sits in. */
export const HEADER_IMAGE = 61;
export const HEADER_SIGNATURES = 62;
export const HEADER_IMMUTABLE = 63;
/** Every ordinary tag is at least this (rpm's hdrchkTag). */
export const HEADER_I18NTABLE = 100;

/** Main header tags (RPMTAG_*). */
export const Tag = {
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  SUMMARY: 1004,
  DESCRIPTION: 1005,
  BUILDTIME: 1006,
  BUILDHOST: 1007,
  SIZE: 1009,
  VENDOR: 1011,
  LICENSE: 1014,
  PACKAGER: 1015,
  GROUP: 1016,
  URL: 1020,
  ARCH: 1022,
  OLDFILENAMES: 1027,
  FILEMODES: 1030,
  FILEFLAGS: 1037,
  SOURCERPM: 1044,
  ARCHIVESIZE: 1046,
  PROVIDENAME: 1047,
  REQUIREFLAGS: 1048,
  REQUIRENAME: 1049,
  REQUIREVERSION: 1050,
  CONFLICTFLAGS: 1053,
  CONFLICTNAME: 1054,
  CONFLICTVERSION: 1055,
  CHANGELOGTIME: 1080,
  CHANGELOGNAME: 1081,
  CHANGELOGTEXT: 1082,
  OBSOLETENAME: 1090,
  SOURCEPACKAGE: 1106,
  PROVIDEFLAGS: 1112,
  PROVIDEVERSION: 1113,
  OBSOLETEFLAGS: 1114,
  OBSOLETEVERSION: 1115,
  DIRINDEXES: 1116,
  BASENAMES: 1117,
  DIRNAMES: 1118,
  PAYLOADFORMAT: 1124,
  PAYLOADCOMPRESSOR: 1125,
  OLDSUGGESTSNAME: 1156,
  OLDSUGGESTSVERSION: 1157,
  OLDSUGGESTSFLAGS: 1158,
  OLDENHANCESNAME: 1159,
  OLDENHANCESVERSION: 1160,
  OLDENHANCESFLAGS: 1161,
  LONGSIZE: 5009,
  RECOMMENDNAME: 5046,
  RECOMMENDVERSION: 5047,
  RECOMMENDFLAGS: 5048,
  SUGGESTNAME: 5049,
  SUGGESTVERSION: 5050,
  SUGGESTFLAGS: 5051,
  SUPPLEMENTNAME: 5052,
  SUPPLEMENTVERSION: 5053,
  SUPPLEMENTFLAGS: 5054,
  ENHANCENAME: 5055,
  ENHANCEVERSION: 5056,
  ENHANCEFLAGS: 5057,
  PAYLOADDIGEST: 5092,
  PAYLOADDIGESTALGO: 5093,
  PAYLOADDIGESTALT: 5097,
  /** rpm 6: uncompressed payload size, kept in the main header. */
  PAYLOADSIZE: 5112,
  /** rpm 6: package format version (6), absent before. */
  RPMFORMAT: 5114,
} as const;

/** Signature header tags (RPMSIGTAG_*). */
export const SigTag = {
  DSA: 267,
  RSA: 268,
  SHA1: 269,
  LONGSIZE: 270,
  LONGARCHIVESIZE: 271,
  SHA256: 273,
  FILESIGNATURES: 274,
  FILESIGNATURELENGTH: 275,
  VERITYSIGNATURES: 276,
  VERITYSIGNATUREALGO: 277,
  OPENPGP: 278,
  SHA3_256: 279,
  SIZE: 1000,
  PGP: 1002,
  MD5: 1004,
  GPG: 1005,
  PAYLOADSIZE: 1007,
} as const;

/**
 * The types rpm 4.18 declares for the main-header tags read here. rpm refuses a v4 header whose
 * entry disagrees with the declared type (hdrchkTagType); string types may stand for each other.
 */
export const MAIN_TAG_TYPES: ReadonlyMap<number, number> = new Map<number, number>([
  [Tag.NAME, TagType.STRING],
  [Tag.VERSION, TagType.STRING],
  [Tag.RELEASE, TagType.STRING],
  [Tag.EPOCH, TagType.INT32],
  [Tag.SUMMARY, TagType.I18NSTRING],
  [Tag.DESCRIPTION, TagType.I18NSTRING],
  [Tag.BUILDTIME, TagType.INT32],
  [Tag.BUILDHOST, TagType.STRING],
  [Tag.SIZE, TagType.INT32],
  [Tag.VENDOR, TagType.STRING],
  [Tag.LICENSE, TagType.STRING],
  [Tag.PACKAGER, TagType.STRING],
  [Tag.GROUP, TagType.I18NSTRING],
  [Tag.URL, TagType.STRING],
  [Tag.ARCH, TagType.STRING],
  [Tag.OLDFILENAMES, TagType.STRING_ARRAY],
  [Tag.FILEMODES, TagType.INT16],
  [Tag.FILEFLAGS, TagType.INT32],
  [Tag.SOURCERPM, TagType.STRING],
  [Tag.ARCHIVESIZE, TagType.INT32],
  [Tag.PROVIDENAME, TagType.STRING_ARRAY],
  [Tag.REQUIREFLAGS, TagType.INT32],
  [Tag.REQUIRENAME, TagType.STRING_ARRAY],
  [Tag.REQUIREVERSION, TagType.STRING_ARRAY],
  [Tag.CONFLICTFLAGS, TagType.INT32],
  [Tag.CONFLICTNAME, TagType.STRING_ARRAY],
  [Tag.CONFLICTVERSION, TagType.STRING_ARRAY],
  [Tag.CHANGELOGTIME, TagType.INT32],
  [Tag.CHANGELOGNAME, TagType.STRING_ARRAY],
  [Tag.CHANGELOGTEXT, TagType.STRING_ARRAY],
  [Tag.OBSOLETENAME, TagType.STRING_ARRAY],
  [Tag.SOURCEPACKAGE, TagType.INT32],
  [Tag.PROVIDEFLAGS, TagType.INT32],
  [Tag.PROVIDEVERSION, TagType.STRING_ARRAY],
  [Tag.OBSOLETEFLAGS, TagType.INT32],
  [Tag.OBSOLETEVERSION, TagType.STRING_ARRAY],
  [Tag.DIRINDEXES, TagType.INT32],
  [Tag.BASENAMES, TagType.STRING_ARRAY],
  [Tag.DIRNAMES, TagType.STRING_ARRAY],
  [Tag.PAYLOADFORMAT, TagType.STRING],
  [Tag.PAYLOADCOMPRESSOR, TagType.STRING],
  [Tag.OLDSUGGESTSNAME, TagType.STRING_ARRAY],
  [Tag.OLDSUGGESTSVERSION, TagType.STRING_ARRAY],
  [Tag.OLDSUGGESTSFLAGS, TagType.INT32],
  [Tag.OLDENHANCESNAME, TagType.STRING_ARRAY],
  [Tag.OLDENHANCESVERSION, TagType.STRING_ARRAY],
  [Tag.OLDENHANCESFLAGS, TagType.INT32],
  [Tag.LONGSIZE, TagType.INT64],
  [Tag.RECOMMENDNAME, TagType.STRING_ARRAY],
  [Tag.RECOMMENDVERSION, TagType.STRING_ARRAY],
  [Tag.RECOMMENDFLAGS, TagType.INT32],
  [Tag.SUGGESTNAME, TagType.STRING_ARRAY],
  [Tag.SUGGESTVERSION, TagType.STRING_ARRAY],
  [Tag.SUGGESTFLAGS, TagType.INT32],
  [Tag.SUPPLEMENTNAME, TagType.STRING_ARRAY],
  [Tag.SUPPLEMENTVERSION, TagType.STRING_ARRAY],
  [Tag.SUPPLEMENTFLAGS, TagType.INT32],
  [Tag.ENHANCENAME, TagType.STRING_ARRAY],
  [Tag.ENHANCEVERSION, TagType.STRING_ARRAY],
  [Tag.ENHANCEFLAGS, TagType.INT32],
  [Tag.PAYLOADDIGEST, TagType.STRING_ARRAY],
  [Tag.PAYLOADDIGESTALGO, TagType.INT32],
  [Tag.PAYLOADDIGESTALT, TagType.STRING_ARRAY],
  [Tag.PAYLOADSIZE, TagType.INT64],
  [Tag.RPMFORMAT, TagType.INT32],
]);

/** Dependency flag bits (rpmsenseFlags). */
export const Sense = {
  LESS: 1 << 1,
  GREATER: 1 << 2,
  EQUAL: 1 << 3,
  PREREQ: 1 << 6,
  SCRIPT_PRE: 1 << 9,
  SCRIPT_POST: 1 << 10,
  MISSINGOK: 1 << 19,
  /** SUSE's legacy weak dependencies: a "strong" suggest is a recommend. */
  STRONG: 1 << 27,
} as const;

/** File flag bits (rpmfileAttrs). */
export const FileFlag = {
  GHOST: 1 << 6,
} as const;

/** The file type bits of st_mode. */
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
