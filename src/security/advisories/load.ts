/**
 * Advisories from the files OSV publishes: one advisory per .json, a JSON array of them, or a
 * bulk archive (all.zip: one <ID>.json per advisory). A bad record is reported by its name and
 * skipped; the rest still load, so one malformed member never hides a whole ecosystem's feed.
 * Pure: the Node root feeds it the files of REPOD_ADVISORIES, the HTTP route a request body.
 */
import { AdvisoryFormatError, type OsvAdvisory, parseOsvAdvisory } from './osv.ts';
import { ZipFormatError, zipMembers } from './zip-members.ts';

export interface FeedLoad {
  advisories: OsvAdvisory[];
  /** One entry per file, archive member or array element that did not load. */
  errors: Array<{ name: string; message: string }>;
}

/** No single advisory comes near this; a member that inflates past it is refused (a zip bomb). */
const MAX_MEMBER_BYTES = 32 * 1024 * 1024;

/** Reads a .json (one advisory or an array) or a .zip of .json members, told apart by content. */
export function readAdvisoryFile(name: string, bytes: Uint8Array): FeedLoad {
  const load: FeedLoad = { advisories: [], errors: [] };
  if (isZip(bytes)) {
    readZip(name, bytes, load);
  } else {
    readJson(name, bytes, load);
  }
  return load;
}

/** Reads each `{name, bytes}` pair (a directory of .json and .zip files) into one load. */
export function readAdvisoryFiles(files: Iterable<{ name: string; bytes: Uint8Array }>): FeedLoad {
  const all: FeedLoad = { advisories: [], errors: [] };
  for (const file of files) {
    const one = readAdvisoryFile(file.name, file.bytes);
    for (const a of one.advisories) all.advisories.push(a);
    for (const e of one.errors) all.errors.push(e);
  }
  return all;
}

function isZip(bytes: Uint8Array): boolean {
  // A local file header, or the end record alone (an empty archive).
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6));
}

function readZip(name: string, bytes: Uint8Array, load: FeedLoad): void {
  let members: ReturnType<typeof zipMembers>;
  try {
    members = zipMembers(bytes, MAX_MEMBER_BYTES);
  } catch (error) {
    load.errors.push({ name, message: error instanceof ZipFormatError ? error.message : String(error) });
    return;
  }
  for (const member of members) {
    // Archives carry only advisories; anything else (a README, a checksum list) is not one.
    if (!member.name.toLowerCase().endsWith('.json')) continue;
    const memberName = `${name}/${member.name}`;
    let data: Uint8Array;
    try {
      data = member.read();
    } catch (error) {
      load.errors.push({ name: memberName, message: (error as Error).message });
      continue;
    }
    readJson(memberName, data, load);
  }
}

function readJson(name: string, bytes: Uint8Array, load: FeedLoad): void {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    load.errors.push({ name, message: `not JSON: ${(error as Error).message}` });
    return;
  }
  const records = Array.isArray(json) ? json.map((record, i) => ({ record, name: `${name}#${i}` })) : [{ record: json, name }];
  for (const { record, name: recordName } of records) {
    try {
      load.advisories.push(parseOsvAdvisory(record, recordName));
    } catch (error) {
      if (!(error instanceof AdvisoryFormatError)) throw error;
      load.errors.push({ name: recordName, message: error.problem });
    }
  }
}
