import type { SecurityPolicy } from '../../../config/security-policy.ts';
import { RepodError } from '../../../errors.ts';
import type { StagedSource } from '../../../ingest/source-stage.ts';
import type { BlobStore } from '../../../storage/blob-store.ts';
import type { CheckResult, PackageCheck } from '../check.ts';
import type { VirusScanner } from '../gate-services.ts';
import { scanSourceFiles } from '../source-files-scan.ts';

/** A source package: each of its files as it is, and each compressed one decompressed (source-files-scan.ts). */
async function scanSource(store: BlobStore, scanner: VirusScanner, source: StagedSource, policy: SecurityPolicy): Promise<CheckResult> {
  const files = [source.self, ...source.files].map((f) => ({
    name: f.name,
    size: f.size,
    async open() {
      const object = await store.get(f.tempKey);
      if (!object) throw new RepodError('package_missing', `${f.name} is gone from the store`, { status: 409 });
      return object.body;
    },
  }));
  const scan = await scanSourceFiles(scanner, files);
  const { verdict } = scan;
  const detail = {
    status: verdict.status,
    scanned: scan.scanned,
    ...(scan.file && verdict.status !== 'clean' ? { file: scan.file } : {}),
    ...(verdict.signature ? { signature: verdict.signature } : {}),
    ...(scan.notes.length ? { notes: scan.notes } : {}),
  };
  if (verdict.status === 'clean') return { passed: true, action: 'allow', message: `clean (scanned ${scan.scanned.join(', ')})`, detail };
  if (verdict.status === 'infected') return { passed: false, action: policy.antivirus, message: `virus scanner found ${verdict.signature} in ${scan.file}`, detail };
  const message = verdict.status === 'too_large' ? `${scan.file} not scanned: over the scanner's size limit (${verdict.message})` : `scanner unavailable: ${verdict.message}`;
  return { passed: false, action: policy.scannerUnavailable, message, detail };
}

/**
 * The upload streamed to the virus scanner (the package and its decompressed payload). A detection
 * takes the policy's `antivirus` action; a scanner that cannot answer, or a package over its size
 * limit, the `scannerUnavailable` one.
 */
export function antivirusCheck(store: BlobStore, scanner: VirusScanner | undefined): PackageCheck {
  return {
    name: 'antivirus',
    async run(c, _identity, { policy }) {
      if (!scanner) return { passed: true, action: 'allow', message: 'no virus scanner configured (REPOD_CLAMD)', detail: { status: 'not_configured' } };
      if (c.source) return scanSource(store, scanner, c.source, policy);
      // A package already in the store (promotion, a build naming it by sha256, an accepted review) was scanned when it came in.
      if (!c.staged) return { passed: true, action: 'allow', message: 'scanned when it was uploaded', detail: { status: 'scanned_at_upload' } };
      const key = c.staged.tempKey;
      const kind = c.staged.kind;
      const scan = await scanner.scanPackage(
        kind,
        async () => {
          const object = await store.get(key);
          if (!object) throw new RepodError('package_missing', `the package ${c.sha256} is gone from the store`, { status: 409 });
          return object.body;
        },
        c.staged.size,
      );
      const { verdict } = scan;
      const detail = { status: verdict.status, scanned: scan.scanned, ...(verdict.signature ? { signature: verdict.signature } : {}) };
      if (verdict.status === 'clean') return { passed: true, action: 'allow', message: `clean (scanned ${scan.scanned.join(', ')})`, detail };
      if (verdict.status === 'infected') return { passed: false, action: policy.antivirus, message: `virus scanner found ${verdict.signature}`, detail };
      const message = verdict.status === 'too_large' ? `not scanned: over the scanner's size limit (${verdict.message})` : `scanner unavailable: ${verdict.message}`;
      return { passed: false, action: policy.scannerUnavailable, message, detail };
    },
  };
}
