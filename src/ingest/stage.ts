import { layout } from '../bucket/layout.ts';
import type { Capabilities, HashAlgorithm, Hasher } from '../capabilities.ts';
import { InvalidPackageError, RepodError } from '../errors.ts';
import { type DebParseResult, DebReader } from '../formats/deb/reader.ts';
import { type RpmParseResult, RpmReader } from '../formats/rpm/index.ts';
import { RpmDigestCollector, type RpmDigests, type RpmHashFactory } from '../signing/rpm-digests.ts';
import { checkPackageType } from './apt-component.ts';

/**
 * Ingest: an upload streams once into a temporary object while its checksums are computed and
 * its headers (RPM) or control and file list (.deb) are parsed on the way; the payload is never
 * held in memory. Only a valid package is moved to its content-addressed place in pool/ and gets
 * its record; anything else is deleted and refused, so no partial object ever
 * becomes visible under a final name.
 */
export interface StagedRpm {
  kind: 'rpm';
  tempKey: string;
  sha256: string;
  size: number;
  parsed: RpmParseResult;
  /** What signature verification needs, computed while the file streamed in. */
  digests: RpmDigests;
}

export interface StagedDeb {
  kind: 'deb';
  tempKey: string;
  sha256: string;
  sha1: string;
  md5: string;
  sha512: string;
  size: number;
  parsed: DebParseResult;
}

export type StagedPackage = StagedRpm | StagedDeb;

const RPM_MAGIC = [0xed, 0xab, 0xee, 0xdb];
const AR_MAGIC = [...new TextEncoder().encode('!<arch>\n')];

/** What watches the bytes of one kind of package go by. */
interface Inspector {
  push(chunk: Uint8Array): void | Promise<void>;
  finish(size: number): Promise<Omit<StagedRpm, 'tempKey' | 'sha256' | 'size'> | Omit<StagedDeb, 'tempKey' | 'sha256' | 'size'>>;
}

function rpmInspector(hash: RpmHashFactory): Inspector {
  const reader = new RpmReader();
  let done = false;
  let parsed: RpmParseResult | undefined;
  const digests = new RpmDigestCollector(hash, () => parsed);
  return {
    push(chunk) {
      if (!done) {
        done = reader.push(chunk);
        if (done) parsed = reader.result();
      }
      digests.push(chunk);
    },
    async finish(size) {
      if (!done || !parsed) throw new InvalidPackageError(`truncated RPM: the file ends (after ${size} bytes) inside its headers`);
      if (parsed.pkg.headerEnd > size) throw new InvalidPackageError('truncated RPM: the file ends inside its header');
      return { kind: 'rpm', parsed, digests: await digests.finish() };
    },
  };
}

function debInspector(hash: (a: 'sha1' | 'md5' | 'sha512') => Hasher): Inspector {
  const reader = new DebReader();
  const sha1 = hash('sha1');
  const md5 = hash('md5');
  const sha512 = hash('sha512');
  return {
    async push(chunk) {
      sha1.update(chunk);
      md5.update(chunk);
      sha512.update(chunk);
      await reader.push(chunk);
    },
    async finish() {
      const parsed = await reader.finish();
      return { kind: 'deb', parsed, sha1: await sha1.digest(), md5: await md5.digest(), sha512: await sha512.digest() };
    },
  };
}

/** `fileName`: the name the upload gave the file; a .udeb/.deb name must match the control's Package-Type. */
export async function stagePackage(caps: Capabilities, body: ReadableStream<Uint8Array>, options: { maxBytes: number; fileName?: string }): Promise<StagedPackage> {
  const tempKey = layout.upload(caps.randomId());
  const sha256 = caps.hash('sha256');
  let size = 0;
  let head = new Uint8Array(0);
  let inspector: Inspector | null = null;
  let failure: unknown = null;

  const inspect = new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      try {
        size += chunk.length;
        if (size > options.maxBytes) throw new RepodError('too_large', `package larger than the limit of ${options.maxBytes} bytes`, { status: 413 });
        sha256.update(chunk);
        if (inspector) {
          await inspector.push(chunk);
        } else {
          // The kind is known from the first bytes; until then they are held back.
          const joined = new Uint8Array(head.length + chunk.length);
          joined.set(head);
          joined.set(chunk, head.length);
          head = joined;
          if (head.length >= 4 && RPM_MAGIC.every((b, i) => head[i] === b)) inspector = rpmInspector((a) => caps.hash(a as HashAlgorithm));
          else if (head.length >= 8 && AR_MAGIC.every((b, i) => head[i] === b)) inspector = debInspector((a) => caps.hash(a));
          else if (head.length >= 8) throw new InvalidPackageError('not a package: the file is neither an RPM (lead magic ed ab ee db) nor a Debian package (ar archive)');
          if (inspector) {
            await inspector.push(head);
            head = new Uint8Array(0);
          }
        }
        controller.enqueue(chunk);
      } catch (error) {
        failure = error;
        controller.error(error);
      }
    },
  });

  try {
    // Transient: a staged upload is moved to the pool or deleted within the request, and after a
    // crash it is garbage (uploads/ is swept) whether or not its name survived.
    await caps.store.put(tempKey, body.pipeThrough(inspect), { contentType: 'application/octet-stream', transient: true });
  } catch (error) {
    await caps.store.delete(tempKey).catch(() => undefined);
    throw failure ?? error;
  }
  try {
    if (!inspector) throw new InvalidPackageError(`not a package: only ${size} bytes received`);
    const result = await (inspector as Inspector).finish(size);
    if (result.kind === 'deb') checkPackageType(options.fileName, result.parsed.control);
    return { ...result, tempKey, sha256: await sha256.digest(), size } as StagedPackage;
  } catch (error) {
    await caps.store.delete(tempKey).catch(() => undefined);
    throw error;
  }
}

/** Drops a staged upload that will not be published. */
export async function discardStaged(caps: Capabilities, staged: StagedPackage): Promise<void> {
  await caps.store.delete(staged.tempKey).catch(() => undefined);
}
