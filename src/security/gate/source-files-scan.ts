/**
 * The antivirus step for a Debian source package: every file the upload carries (the .dsc, the
 * orig tarballs, the debian tarball or diff) is streamed to the scanner as it is, then, when its
 * name says it is compressed (.gz, .xz, .zst), decompressed: clamd does not always look inside a
 * compressed tarball, as it does not inside a .deb's data.tar.xz, so the decompressed tar is what
 * shows a signature in one of its files.
 *
 * Files are scanned one after the other and the first verdict that is not clean ends the step. A
 * compression this code cannot undo (bzip2, lzma) or a stream that does not decompress leaves the
 * file's verdict as it is, with a note (dpkg-source refuses such a source on the client anyway).
 */
import type { Compression } from '../../formats/archive/decompress.ts';
import { compressionFromSuffix, createInflater, type Inflater } from '../../formats/archive/decompress.ts';
import type { VirusScan, VirusScanner } from './gate-services.ts';

export interface SourceFileToScan {
  name: string;
  size: number;
  open(): Promise<ReadableStream<Uint8Array>>;
}

export interface SourceScan extends VirusScan {
  /** The file whose verdict ended the step, when it is not clean. */
  file?: string;
  /** Files that were only scanned as they are, and why. */
  notes: string[];
}

/** The compression a source file's name announces, if any: `foo.orig.tar.xz` → xz, `foo.diff.gz` → gzip. */
export function sourceFileCompression(name: string): Compression | undefined {
  const m = /\.(gz|xz|zst|bz2|lzma)$/i.exec(name);
  return m ? compressionFromSuffix(`.${m[1]!.toLowerCase()}`) : undefined;
}

/** Most input fed to the decompressor at a time, and the output aimed at per write: a bomb advances a few bytes at a time. */
const MAX_SLICE = 64 * 1024;
const MIN_SLICE = 64;
const TARGET_OUT = 1024 * 1024;

/**
 * The decompressed bytes of `source`, produced as the consumer pulls: input goes to the decoder
 * in slices that shrink as the ratio seen so far grows, so one write never expands into more than
 * about a MiB, whatever the file claims to hold.
 */
export function decompressedFile(compression: Compression, source: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let inflater: Inflater;
  let pending: Uint8Array | undefined;
  let at = 0;
  let slice = 256;
  let produced = 0;
  let ended = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        inflater = createInflater(compression, (chunk) => {
          produced += chunk.length;
          controller.enqueue(compression === 'zstd' ? chunk.slice() : chunk);
        });
      },
      async pull(controller) {
        try {
          while ((controller.desiredSize ?? 1) > 0 && !ended) {
            if (pending === undefined || at >= pending.length) {
              const next = await reader.read();
              if (next.done) {
                ended = true;
                await inflater.end();
                controller.close();
                return;
              }
              pending = next.value;
              at = 0;
              continue;
            }
            const piece = pending.subarray(at, at + slice);
            at += piece.length;
            const before = produced;
            await inflater.write(piece);
            const out = produced - before;
            slice = out === 0 ? Math.min(MAX_SLICE, slice * 2) : Math.max(MIN_SLICE, Math.min(MAX_SLICE, Math.floor((piece.length * TARGET_OUT) / out)));
          }
        } catch (error) {
          inflater.abort();
          reader.cancel(error).catch(() => {});
          throw error;
        }
      },
      cancel(reason) {
        inflater.abort();
        return reader.cancel(reason);
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: 256 * 1024 }),
  );
}

/**
 * Scans every file of a source package. The scanner's scanPackage sends the stream it is given
 * first, as it is; a tarball is no package, so its payload step finds nothing to open and the
 * verdict is the stream's own.
 */
export async function scanSourceFiles(scanner: VirusScanner, files: SourceFileToScan[]): Promise<SourceScan> {
  const scanned: string[] = [];
  const notes: string[] = [];
  for (const file of files) {
    const whole = await scanner.scanPackage('deb', file.open, file.size);
    if (whole.verdict.status !== 'clean') {
      if (whole.verdict.status === 'infected') scanned.push(file.name);
      return { verdict: whole.verdict, scanned, file: file.name, notes };
    }
    scanned.push(file.name);
    const compression = sourceFileCompression(file.name);
    if (!compression || compression === 'none') continue;
    const label = `${file.name} (decompressed)`;
    let inner: VirusScan;
    try {
      inner = await scanner.scanPackage('deb', async () => decompressedFile(compression, await file.open()));
    } catch (error) {
      notes.push(`${file.name}: not decompressed (${error instanceof Error ? error.message : String(error)})`);
      continue;
    }
    if (inner.verdict.status === 'clean') {
      scanned.push(label);
      continue;
    }
    if (inner.verdict.status === 'infected') scanned.push(label);
    const verdict =
      inner.verdict.status === 'infected'
        ? inner.verdict
        : { status: inner.verdict.status, message: `${file.name} as it is is clean, but its decompressed content was not scanned: ${inner.verdict.message ?? ''}` };
    return { verdict, scanned, file: file.name, notes };
  }
  return { verdict: { status: 'clean' }, scanned, notes };
}
