/**
 * The first request for a package of an on-demand mirror: the package is fetched from the
 * upstream, checked against the size and sha256 its index listed, and stored in the pool once;
 * from then on it is served like any other. Concurrent first requests in one process share one
 * download; across processes the pool's content addressing makes a second download harmless.
 */
import { layout } from '../bucket/layout.ts';
import type { Capabilities } from '../capabilities.ts';
import { NotFoundError, RepodError } from '../errors.ts';
import { storePackage } from '../ingest/commit.ts';
import { discardStaged, stagePackage } from '../ingest/stage.ts';
import type { OutboundClient } from '../outbound/outbound-client.ts';
import { getJson, putJson } from '../storage/objects.ts';
import { InFlight } from '../util/in-flight.ts';

/** Where a mirrored package comes from (`mirror/origins/<sha256>.json`). */
export interface MirrorOrigin {
  format: 1;
  sourceId: number;
  url: string;
  size: number;
}

export class MirrorPackages {
  readonly #inFlight: InFlight<string, void>;

  constructor(
    private readonly caps: Capabilities,
    private readonly outbound: Pick<OutboundClient, 'fetch'>,
  ) {
    this.#inFlight = new InFlight(caps.requestsShareWork);
  }

  /** Records where a package of a mirror revision downloads from, before the revision is published. */
  async remember(sha256: string, origin: Omit<MirrorOrigin, 'format'>): Promise<void> {
    await putJson(this.caps.store, layout.mirrorOrigin(sha256), { format: 1, ...origin } satisfies MirrorOrigin);
  }

  /** Whether the pool holds the package. */
  async stored(sha256: string): Promise<boolean> {
    return (await this.caps.store.head(layout.pool(sha256))) !== null;
  }

  /**
   * Makes sure the pool holds the package, fetching it when a mirror published it without its
   * bytes. A package that is no mirror's is left alone (the caller answers its own 404).
   */
  async ensure(sha256: string): Promise<void> {
    if (await this.stored(sha256)) return;
    // Not tied to the asking request: others may wait on the same download.
    await this.#inFlight.run(sha256, () => this.#fetch(sha256));
  }

  async #fetch(sha256: string): Promise<void> {
    if (await this.stored(sha256)) return;
    const origin = (await getJson<MirrorOrigin>(this.caps.store, layout.mirrorOrigin(sha256)))?.value;
    if (!origin) return;
    const { url, size, sourceId } = origin;
    const response = await this.outbound.fetch(url, { maxBytes: size });
    if (response.status === 404 || response.status === 410) {
      await response.body?.cancel().catch(() => undefined);
      throw new NotFoundError(
        `${url} is gone upstream (HTTP ${response.status}); re-sync source ${sourceId} (POST /api/v1/import/sources/${sourceId}/sync) to publish what it offers now`,
        'upstream_package_missing',
      );
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel().catch(() => undefined);
      throw new RepodError('upstream_http_error', `${url} answered HTTP ${response.status}`, { status: 502, details: { url, upstreamStatus: response.status } });
    }
    let staged: Awaited<ReturnType<typeof stagePackage>>;
    try {
      staged = await stagePackage(this.caps, response.body, { maxBytes: size });
    } catch (error) {
      // The upstream's fault, not the client's: a gateway error that names the package.
      if (error instanceof RepodError && error.status < 500) {
        throw new RepodError('upstream_package_invalid', `${url} is not a valid package: ${error.message}`, { status: 502, cause: error, details: { url } });
      }
      throw error;
    }
    if (staged.sha256 !== sha256 || staged.size !== size) {
      await discardStaged(this.caps, staged);
      throw new RepodError(
        'upstream_package_mismatch',
        `${url} is not the package the upstream index listed: ${staged.size} bytes with sha256 ${staged.sha256}, expected ${size} bytes with sha256 ${sha256}; nothing was stored`,
        { status: 502, details: { url, expected: { size, sha256 }, actual: { size: staged.size, sha256: staged.sha256 } } },
      );
    }
    await storePackage(this.caps, staged);
  }
}
