import { layout } from '../bucket/layout.ts';
import type { RenderedFile, Segment } from '../bucket/render-manifest.ts';
import type { Revision } from '../bucket/revision.ts';
import type { Capabilities } from '../capabilities.ts';
import { PreconditionFailedError } from '../errors.ts';
import { zchunkChunk } from '../formats/zchunk/chunk.ts';
import { type ZchunkChunk, zchunkHeader } from '../formats/zchunk/header.ts';
import type { RpmVariant } from '../ingest/rpm-entry.ts';
import type { RepomdRecord } from '../metadata/rpm/repomd.ts';
import type { Repository } from '../revisions/repository.ts';
import { getBytes, getJson, putJson } from '../storage/objects.ts';
import { concatBytes, toBase64, utf8 } from '../util/bytes.ts';

/**
 * The zchunk metadata of an RPM view (primary_zck, filelists_zck, other_zck): the same XML as
 * primary.xml.gz and friends, cut as createrepo_c cuts it, one zchunk chunk per package, so a
 * client holding the previous file fetches only the chunks of changed packages.
 *
 * Layout of each file: the zchunk header, the (empty) dictionary, a chunk with the XML header,
 * one chunk per package, a chunk with the XML footer. createrepo_c puts the XML header in the
 * first package's chunk; repod keeps it apart because it carries the package count, which
 * changes with every publish: kept apart, every package chunk stays byte-identical across
 * revisions.
 *
 * Compressing is the expensive part, so a source chunk's packages are compressed once per
 * (chunk, stream, selection) and stored as one object (content-addressed under metadata/), with
 * a small note of their index entries under a key derived from that triple: a later revision that
 * still holds the chunk reuses both, and only the header and the XML header/footer chunks are made
 * per render. Each file is then hashed in two passes (its checksum covers the header, which lists
 * every chunk): parts are held in memory up to HOLD_BYTES and read again past that.
 */

const HOLD_BYTES = 32 * 1024 * 1024;

/** What a render of the view decided, passed from renderRpmView. */
export interface ZchunkViewInput {
  revision: Revision;
  variant: RpmVariant;
  /** Which arches the view shows (whole groups). */
  select: (t: { arch: string }) => boolean;
  /** Per chunk of the revision: the entries taken, or null where `select` decides. */
  decisions: ReadonlyArray<boolean[] | null>;
  /** The XML header and footer of each file. */
  files: ReadonlyArray<{ type: 'primary' | 'filelists' | 'other'; header: string; footer: string }>;
}

export interface ZchunkRendered {
  file: RenderedFile;
  record: Omit<RepomdRecord, 'timestamp'>;
}

/** The stored note of one compressed part: its object and its chunks' index entries. */
interface PartNote {
  object: string;
  chunks: Array<[checksum: string, length: number, openLength: number]>;
}

interface FileState {
  type: string;
  stream: string;
  head: Uint8Array;
  foot: Uint8Array;
  headChunk: Awaited<ReturnType<typeof zchunkChunk>>;
  footChunk: Awaited<ReturnType<typeof zchunkChunk>>;
  chunks: ZchunkChunk[];
  parts: string[];
  data: ReturnType<Capabilities['hash']>;
  open: ReturnType<Capabilities['hash']>;
  openSize: number;
  dataSize: number;
}

/** Null where the runtime has no zstd encoder: the view is then served without zchunk files. */
export async function renderZchunkFiles(deps: { caps: Capabilities; repository: Repository }, input: ZchunkViewInput): Promise<ZchunkRendered[] | null> {
  const { caps, repository } = deps;
  const zstd = caps.zstd?.bind(caps);
  if (!zstd) return null;
  const sha512 = () => caps.hash('sha512');
  const { revision, variant, select, decisions } = input;

  const states: FileState[] = [];
  for (const f of input.files) {
    const head = utf8(f.header);
    const foot = utf8(f.footer);
    const state: FileState = {
      type: f.type,
      stream: variant === 'hashed' && f.type === 'primary' ? 'primary_hashed' : f.type,
      head,
      foot,
      headChunk: await zchunkChunk(head, zstd, sha512),
      footChunk: await zchunkChunk(foot, zstd, sha512),
      chunks: [],
      parts: [],
      data: caps.hash('sha256'),
      open: caps.hash('sha256'),
      openSize: head.length,
      dataSize: 0,
    };
    state.chunks.push(state.headChunk);
    state.data.update(state.headChunk.bytes);
    state.dataSize += state.headChunk.length;
    state.open.update(head);
    states.push(state);
  }

  const held = new Map<string, Uint8Array>();
  let heldBytes = 0;
  for (let c = 0; c < revision.chunks.length; c++) {
    const id = revision.chunks[c].id;
    const index = await repository.chunkIndex(id);
    const decided = decisions[c];
    const taken = index.entries.map((e, i) => (decided ? decided[i] : select(e)));
    if (!taken.includes(true)) continue;
    const items = index.withSegments(await repository.chunkBytes(id), caps.gunzip);
    // In group order (groups in order of first appearance, entries in index order within each),
    // as the chunk lays out its streams and the .xml.gz files take them: the same text in both.
    const picked = entryGroups(index.entries).flatMap((members) => members.filter((i) => taken[i]));
    for (const state of states) {
      const s = index.streamIndex(state.stream);
      const raws = picked.map((i) => items[i].segments[s]);
      for (const raw of raws) {
        state.open.update(raw);
        state.openSize += raw.length;
      }
      const noteKey = layout.metadataObject(await hex(caps, utf8(`repod zchunk part 1\n${id}\n${state.stream}\n${picked.join(',')}`)));
      let note = (await getJson<PartNote>(caps.store, noteKey))?.value ?? null;
      let bytes = note ? await getBytes(caps.store, note.object) : null;
      if (!note || !bytes) {
        const made = [];
        for (const raw of raws) made.push(await zchunkChunk(raw, zstd, sha512));
        bytes = concatBytes(made.map((m) => m.bytes));
        note = { object: layout.metadataObject(await hex(caps, bytes)), chunks: made.map((m) => [toHex(m.checksum), m.length, m.openLength]) };
        await createOnce(caps, note.object, bytes);
        await putJson(caps.store, noteKey, note);
      }
      for (const [checksum, length, openLength] of note.chunks) state.chunks.push({ checksum: fromHex(checksum), length, openLength });
      state.data.update(bytes);
      state.dataSize += bytes.length;
      state.parts.push(note.object);
      if (heldBytes + bytes.length <= HOLD_BYTES) {
        held.set(note.object, bytes);
        heldBytes += bytes.length;
      }
    }
  }

  const out: ZchunkRendered[] = [];
  for (const state of states) {
    state.chunks.push(state.footChunk);
    state.data.update(state.footChunk.bytes);
    state.dataSize += state.footChunk.length;
    state.open.update(state.foot);
    state.openSize += state.foot.length;
    const header = await zchunkHeader(state.chunks, await state.data.digest(), () => caps.hash('sha256'));

    // Second pass: the file's own checksum, header first.
    const file = caps.hash('sha256');
    file.update(header.bytes);
    file.update(state.headChunk.bytes);
    for (const object of state.parts) {
      const bytes = held.get(object) ?? (await getBytes(caps.store, object));
      if (!bytes) throw new Error(`zchunk part ${object} is missing`);
      file.update(bytes);
    }
    file.update(state.footChunk.bytes);
    const sha256 = await file.digest();
    const segments: Segment[] = [
      { data: toBase64(concatBytes([header.bytes, state.headChunk.bytes])) },
      ...state.parts.map((object) => ({ object })),
      { data: toBase64(state.footChunk.bytes) },
    ];
    const size = header.size + state.dataSize;
    const path = `repodata/${sha256}-${state.type}.xml.zck`;
    const type = `${state.type}_zck`;
    out.push({
      file: { path, type, size, openSize: state.openSize, checksums: { sha256 }, segments },
      record: {
        type,
        href: path,
        checksum: sha256,
        size,
        openChecksum: await state.open.digest(),
        openSize: state.openSize,
        headerChecksum: header.checksum,
        headerSize: header.size,
      },
    });
  }
  return out;
}

function entryGroups(entries: ReadonlyArray<{ arch: string; component?: string }>): number[][] {
  const groups = new Map<string, number[]>();
  entries.forEach((e, i) => {
    const key = `${e.arch}\0${e.component ?? ''}`;
    const members = groups.get(key);
    if (members) members.push(i);
    else groups.set(key, [i]);
  });
  return [...groups.values()];
}

async function createOnce(caps: Capabilities, key: string, bytes: Uint8Array): Promise<void> {
  await caps.store.put(key, bytes, { ifNoneMatch: '*', contentType: 'application/zstd' }).catch((error) => {
    if (!(error instanceof PreconditionFailedError)) throw error;
  });
}

async function hex(caps: Capabilities, bytes: Uint8Array): Promise<string> {
  const h = caps.hash('sha256');
  h.update(bytes);
  return h.digest();
}

function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

function fromHex(hexText: string): Uint8Array {
  const out = new Uint8Array(hexText.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hexText.slice(i * 2, i * 2 + 2), 16);
  return out;
}
