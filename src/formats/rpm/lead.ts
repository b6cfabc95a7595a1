/**
 * The 96-byte lead that opens every package file. rpm only trusts its magic, major version and
 * signature type (lib/rpmlead.c rpmLeadCheck); everything else in it is legacy and is read from
 * the headers instead.
 */
import { InvalidPackageError } from '../../errors.ts';

export const LEAD_SIZE = 96;
/** The lead's own signature type field: "the signature is a header" (RPMSIGTYPE_HEADERSIG). */
const SIGTYPE_HEADERSIG = 5;

export interface RpmLead {
  major: number;
  minor: number;
  /** 0 binary, 1 source: informational only, rpm decides from the header. */
  type: number;
  /** The NEVR the builder wrote, up to 65 bytes (Latin-1 decoded: it is never used for metadata). */
  name: string;
}

export function parseLead(bytes: Uint8Array): RpmLead {
  if (bytes.length < LEAD_SIZE) throw new InvalidPackageError(`rpm lead: truncated (${bytes.length} of ${LEAD_SIZE} bytes)`);
  if (bytes[0] !== 0xed || bytes[1] !== 0xab || bytes[2] !== 0xee || bytes[3] !== 0xdb) {
    throw new InvalidPackageError('rpm lead: bad magic (not an rpm package)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, LEAD_SIZE);
  const major = bytes[4];
  if (major < 3 || major > 4) throw new InvalidPackageError(`rpm lead: unsupported package version ${major}`);
  const signatureType = view.getInt16(78);
  if (signatureType !== SIGTYPE_HEADERSIG) throw new InvalidPackageError(`rpm lead: illegal signature type ${signatureType}`);
  const nameBytes = bytes.subarray(10, 76);
  const end = nameBytes.indexOf(0);
  let name = '';
  for (const b of end < 0 ? nameBytes : nameBytes.subarray(0, end)) name += String.fromCharCode(b);
  return { major, minor: bytes[5], type: view.getInt16(6), name };
}
