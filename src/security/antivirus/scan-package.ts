/**
 * The antivirus step for one package: the package is scanned as it is, then its decompressed
 * payload (a .deb's data.tar, an RPM's cpio). The second scan is what finds a signature in a file
 * of the package: clamd does not unpack a .deb's data.tar.xz, nor an RPM's xz or zstd payload.
 *
 * Both scans stream the package from `open()` (called once per scan), so nothing is held whole.
 * Verdicts combine with infected first: the payload is only scanned when the package as it is was
 * clean, and a scanner that is unavailable or refuses the package as too large ends the step.
 * When the payload cannot be found or decompressed, the verdict is the package's alone and
 * `payloadError` says why (the format step refuses such packages in the ingest pipeline anyway).
 */
import type { ClamdScanner, ScanVerdict } from './clamd-scanner.ts';
import type { PackageKind } from './package-payload.ts';
import { PayloadError, packagePayload, payloadName } from './package-payload.ts';

export interface PackageScan {
  verdict: ScanVerdict;
  /** What was scanned to a verdict, in order: e.g. ['package', 'data.tar'] or ['package', 'cpio']. */
  scanned: string[];
  ms: number;
  /** Why the payload was not scanned although the package was, when it could not be decompressed. */
  payloadError?: string;
}

export interface ScanPackageOptions {
  /**
   * Largest stream sent to the scanner, in bytes, for the package and for its decompressed payload.
   * A longer stream is cut there and the scan abandoned without ending the INSTREAM stream, so
   * clamd scans none of it; the verdict is too_large. Default: no limit of ours (clamd's
   * StreamMaxLength still applies).
   */
  maxBytes?: number;
  /** The package's size when known (the store's): over maxBytes, nothing is opened or sent. */
  size?: number;
}

class OverLimit extends Error {
  constructor(what: string, limit: number) {
    super(`${what} is larger than the antivirus limit of ${limit} bytes`);
    this.name = 'OverLimit';
  }
}

export async function scanPackage(
  scanner: Pick<ClamdScanner, 'scan'>,
  kind: PackageKind,
  open: () => Promise<ReadableStream<Uint8Array>>,
  options: ScanPackageOptions = {},
): Promise<PackageScan> {
  const started = performance.now();
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  const scanned: string[] = [];
  const done = (verdict: ScanVerdict, extra: Partial<PackageScan> = {}): PackageScan => ({
    verdict,
    scanned,
    ms: Math.round(performance.now() - started),
    ...extra,
  });

  if (options.size !== undefined && options.size > maxBytes) {
    return done({ status: 'too_large', message: `the package (${options.size} bytes) is larger than the antivirus limit of ${maxBytes} bytes` });
  }

  const whole = await scanLimited(scanner, await open(), 'the package', maxBytes);
  if (whole.status !== 'clean') {
    if (whole.status === 'infected') scanned.push('package');
    return done(whole);
  }
  scanned.push('package');

  const name = payloadName(kind);
  let payload: ScanVerdict;
  try {
    payload = await scanLimited(scanner, packagePayload(kind, await open()), `the decompressed ${name}`, maxBytes);
  } catch (error) {
    if (error instanceof PayloadError) return done(whole, { payloadError: error.message });
    throw error;
  }
  if (payload.status === 'clean' || payload.status === 'infected') scanned.push(name);
  if (payload.status === 'too_large' || payload.status === 'unavailable') {
    return done({ status: payload.status, message: `the package as it is is clean, but its ${name} was not scanned: ${payload.message}` });
  }
  return done(payload);
}

/** Scans `stream`, cut at `maxBytes` (an OverLimit error the scanner passes back is too_large). */
async function scanLimited(scanner: Pick<ClamdScanner, 'scan'>, stream: ReadableStream<Uint8Array>, what: string, maxBytes: number): Promise<ScanVerdict> {
  const input = Number.isFinite(maxBytes) ? stream.pipeThrough(limit(what, maxBytes)) : stream;
  try {
    return await scanner.scan(input);
  } catch (error) {
    if (error instanceof OverLimit) return { status: 'too_large', message: error.message };
    throw error;
  }
}

function limit(what: string, maxBytes: number): TransformStream<Uint8Array, Uint8Array> {
  let seen = 0;
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      seen += chunk.length;
      if (seen > maxBytes) throw new OverLimit(what, maxBytes);
      controller.enqueue(chunk);
    },
  });
}
