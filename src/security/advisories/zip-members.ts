/**
 * The members of a ZIP archive, one at a time, read through its central directory (PKWARE
 * APPNOTE.TXT sections 4.3.12-4.3.16, with the ZIP64 records of 4.3.14-4.3.15 and the 0x0001
 * extra field of 4.5.3). One member is inflated at a time, so a bulk advisory archive needs its
 * own bytes plus one member in memory, not every member at once as a whole-archive unzip does.
 * The central directory, not a scan of local headers, says where members are: archives written
 * as a stream (data descriptors, no sizes in the local headers) read the same way.
 */
import { inflateSync } from 'fflate';

export interface ZipMember {
  name: string;
  /** The member's bytes, or why they cannot be read (encrypted, unknown method, corrupt, too large). */
  read(): Uint8Array;
}

export class ZipFormatError extends Error {}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** Lists the members of `zip`; throws ZipFormatError when the archive's directory is unreadable. */
export function zipMembers(zip: Uint8Array, maxMemberBytes: number): ZipMember[] {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const u64 = (at: number) => Number(view.getBigUint64(at, true));
  const within = (at: number, length: number) => at >= 0 && at + length <= zip.byteLength;

  let eocd = -1;
  for (let at = zip.byteLength - 22; at >= Math.max(0, zip.byteLength - 22 - 0xffff); at--) {
    if (u32(at) === EOCD) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw new ZipFormatError('not a ZIP archive (no end of central directory record)');
  let count = u16(eocd + 10);
  let offset = u32(eocd + 16);
  if (count === 0xffff || offset === 0xffffffff) {
    const locator = eocd - 20;
    if (!within(locator, 20) || u32(locator) !== ZIP64_LOCATOR) throw new ZipFormatError('ZIP64 end of central directory locator missing');
    const record = u64(locator + 8);
    if (!within(record, 56) || u32(record) !== ZIP64_EOCD) throw new ZipFormatError('ZIP64 end of central directory record missing');
    count = u64(record + 32);
    offset = u64(record + 48);
  }

  const members: ZipMember[] = [];
  let at = offset;
  for (let i = 0; i < count; i++) {
    if (!within(at, 46) || u32(at) !== CENTRAL) throw new ZipFormatError(`central directory entry ${i} is missing or corrupt`);
    const flags = u16(at + 8);
    const method = u16(at + 10);
    let compressed = u32(at + 20);
    let size = u32(at + 24);
    const nameLength = u16(at + 28);
    const extraLength = u16(at + 30);
    const commentLength = u16(at + 32);
    let local = u32(at + 42);
    if (!within(at + 46, nameLength + extraLength + commentLength)) throw new ZipFormatError(`central directory entry ${i} runs past the archive`);
    const name = new TextDecoder().decode(zip.subarray(at + 46, at + 46 + nameLength));
    // ZIP64: the sizes and offset that overflowed 32 bits follow in the 0x0001 extra field, in this order.
    for (let e = at + 46 + nameLength; e + 4 <= at + 46 + nameLength + extraLength; ) {
      const id = u16(e);
      const length = u16(e + 2);
      if (id === 0x0001) {
        let field = e + 4;
        const take = (value: number): number => {
          if (value !== 0xffffffff || field + 8 > e + 4 + length) return value;
          field += 8;
          return u64(field - 8);
        };
        size = take(size);
        compressed = take(compressed);
        local = take(local);
      }
      e += 4 + length;
    }
    at += 46 + nameLength + extraLength + commentLength;
    if (name.endsWith('/')) continue;

    members.push({
      name,
      read: () => {
        if (flags & 1) throw new ZipFormatError('member is encrypted');
        if (size > maxMemberBytes) throw new ZipFormatError(`member is ${size} bytes, more than the ${maxMemberBytes} allowed`);
        if (!within(local, 30) || u32(local) !== LOCAL) throw new ZipFormatError('local header is missing or corrupt');
        const start = local + 30 + u16(local + 26) + u16(local + 28);
        if (!within(start, compressed)) throw new ZipFormatError('member data runs past the archive');
        const data = zip.subarray(start, start + compressed);
        if (method === 0) return data;
        if (method !== 8) throw new ZipFormatError(`compression method ${method} is not supported (only stored and deflate)`);
        let out: Uint8Array;
        try {
          out = inflateSync(data, { out: new Uint8Array(size) });
        } catch (error) {
          throw new ZipFormatError(`member data is corrupt: ${(error as Error).message}`);
        }
        if (out.byteLength !== size) throw new ZipFormatError(`member inflates to ${out.byteLength} bytes, the directory says ${size}`);
        return out;
      },
    });
  }
  return members;
}
