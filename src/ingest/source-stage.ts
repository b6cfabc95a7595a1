import { layout } from '../bucket/layout.ts';
import type { Capabilities } from '../capabilities.ts';
import { RepodError } from '../errors.ts';
import { type Dsc, parseDsc } from '../formats/deb/dsc.ts';
import type { SourceFileHashes } from '../metadata/apt/sources-stanza.ts';
import { concatBytes } from '../util/bytes.ts';

/**
 * Staging a Debian source package: the .dsc and the files it names arrive as separate files of one
 * upload. Each streams once into uploads/ while all four checksums are computed (the Sources index
 * lists MD5, SHA1, SHA256 and SHA512 of every file); the .dsc, a small text file, is also kept in
 * memory to be parsed. Nothing is moved to the pool here: checkSourceUpload compares what arrived
 * with what the .dsc says, and only a complete, matching set is committed (source-entry.ts).
 */
export interface StagedSourceFile extends SourceFileHashes {
  tempKey: string;
}

export interface StagedSource {
  kind: 'dsc';
  dsc: Dsc;
  /** The .dsc as uploaded (signature and all). */
  self: StagedSourceFile;
  /** The files the .dsc names, in its Files order. */
  files: StagedSourceFile[];
}

/** A .dsc larger than this is not a source control file (real ones are a few KB). */
export const MAX_DSC_BYTES = 1024 * 1024;

/** Whether an uploaded file name is a source control file. */
export function isDscName(fileName: string | undefined): boolean {
  return fileName !== undefined && /\.dsc$/i.test(fileName);
}

/** A file name the way a .dsc names its files: a plain name, nothing that climbs out of a directory. */
function plainName(fileName: string | undefined): string {
  const name = fileName?.slice(Math.max(fileName.lastIndexOf('/'), fileName.lastIndexOf('\\')) + 1) ?? '';
  if (!/^[A-Za-z0-9][A-Za-z0-9+._~-]*$/.test(name)) {
    throw new RepodError('invalid_file_name', `${JSON.stringify(fileName ?? '')} is not a file name a .dsc can list`, { status: 400, details: { fileName } });
  }
  return name;
}

/**
 * Streams one file of a source upload into uploads/, hashing it on the way. `keep`: also returns
 * its bytes (the .dsc), refused beyond MAX_DSC_BYTES.
 */
export async function stageSourceFile(
  caps: Capabilities,
  body: ReadableStream<Uint8Array>,
  options: { maxBytes: number; fileName: string | undefined; keep?: boolean },
): Promise<{ file: StagedSourceFile; bytes?: Uint8Array }> {
  const name = plainName(options.fileName);
  const limit = options.keep ? Math.min(options.maxBytes, MAX_DSC_BYTES) : options.maxBytes;
  const tempKey = layout.upload(caps.randomId());
  const hashers = { md5: caps.hash('md5'), sha1: caps.hash('sha1'), sha256: caps.hash('sha256'), sha512: caps.hash('sha512') };
  const kept: Uint8Array[] = [];
  let size = 0;
  let failure: unknown = null;
  const inspect = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      size += chunk.length;
      if (size > limit) {
        failure = new RepodError('too_large', `${name} is larger than the limit of ${limit} bytes`, { status: 413, details: { fileName: name } });
        controller.error(failure);
        return;
      }
      for (const h of Object.values(hashers)) h.update(chunk);
      if (options.keep) kept.push(chunk.slice());
      controller.enqueue(chunk);
    },
  });
  try {
    await caps.store.put(tempKey, body.pipeThrough(inspect), { contentType: 'application/octet-stream' });
  } catch (error) {
    await caps.store.delete(tempKey).catch(() => undefined);
    throw failure ?? error;
  }
  const file: StagedSourceFile = {
    tempKey,
    name,
    size,
    md5: await hashers.md5.digest(),
    sha1: await hashers.sha1.digest(),
    sha256: await hashers.sha256.digest(),
    sha512: await hashers.sha512.digest(),
  };
  return options.keep ? { file, bytes: concatBytes(kept) } : { file };
}

/** Drops every staged file of a source upload that will not be published. */
export async function discardSourceFiles(caps: Capabilities, files: Iterable<StagedSourceFile>): Promise<void> {
  await Promise.all([...files].map((f) => caps.store.delete(f.tempKey).catch(() => undefined)));
}

/**
 * Pairs a parsed .dsc with the files uploaded beside it. Refused with 422, naming the file: a file
 * the .dsc lists that is missing, one whose size or any listed checksum differs, and a file the
 * .dsc does not list (an upload carries one source package). The caller discards the staged files.
 */
export function checkSourceUpload(dscBytes: Uint8Array, self: StagedSourceFile, uploaded: StagedSourceFile[]): StagedSource {
  const dsc = parseDsc(dscBytes);
  const byName = new Map<string, StagedSourceFile>();
  for (const f of uploaded) {
    if (byName.has(f.name)) throw new RepodError('duplicate_file', `${f.name} is uploaded twice`, { status: 400, details: { fileName: f.name } });
    byName.set(f.name, f);
  }
  const missing = dsc.files.filter((f) => !byName.has(f.name)).map((f) => f.name);
  if (missing.length) {
    throw new RepodError('source_file_missing', `${self.name} names ${missing.join(', ')}, which the upload does not carry; send the .dsc with every file it lists`, {
      status: 422,
      details: { dsc: self.name, missing },
    });
  }
  const files: StagedSourceFile[] = [];
  for (const want of dsc.files) {
    const got = byName.get(want.name)!;
    byName.delete(want.name);
    if (got.size !== want.size) {
      throw new RepodError('source_checksum_mismatch', `${want.name} has ${got.size} bytes but ${self.name} says ${want.size}`, {
        status: 422,
        details: { dsc: self.name, fileName: want.name, field: 'size', expected: want.size, actual: got.size },
      });
    }
    for (const hash of ['md5', 'sha1', 'sha256', 'sha512'] as const) {
      const expected = want[hash];
      if (expected !== undefined && expected !== got[hash]) {
        throw new RepodError('source_checksum_mismatch', `${want.name} does not match its ${hash} in ${self.name} (expected ${expected}, got ${got[hash]})`, {
          status: 422,
          details: { dsc: self.name, fileName: want.name, field: hash, expected, actual: got[hash] },
        });
      }
    }
    files.push(got);
  }
  const extra = [...byName.keys()];
  if (extra.length) {
    throw new RepodError('unexpected_file', `${extra.join(', ')} ${extra.length === 1 ? 'is' : 'are'} not listed in ${self.name}; a source upload carries one .dsc and its files`, {
      status: 422,
      details: { dsc: self.name, unexpected: extra },
    });
  }
  return { kind: 'dsc', dsc, self, files };
}
