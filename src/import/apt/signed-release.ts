/**
 * Reads and authenticates an upstream suite's Release, as apt does: `dists/<suite>/InRelease`
 * (clear-signed) first, else `Release` with its detached `Release.gpg`.
 *
 * With the source's key, at least one signature must verify with it, and a signature made by that
 * key that does not verify fails the read (gpgv's BADSIG, which apt refuses even beside a good
 * signature); signatures by other keys (Debian signs with two or three) are ignored. Only the
 * signed text is parsed: whatever a clear-signed file carries around the signed part never is.
 * Without a key, the Release is read as it is (signedBy: null), and the caller says so.
 */
import * as openpgp from 'openpgp';
import { RepodError } from '../../errors.ts';
import { fetchUpstream, readSmallBody, type UpstreamFetch, upstreamUrl } from '../upstream-fetch.ts';
import { type AptRelease, parseAptRelease } from './release-file.ts';

export interface ReadAptReleaseOptions {
  /** Largest Release / InRelease / Release.gpg accepted. Default 16 MiB (Debian's InRelease is about 150 KB). */
  maxReleaseBytes?: number;
  /**
   * The time to judge the signature and `Valid-Until` by. Without it, openpgp uses the current
   * time for the signature and `Valid-Until` is not checked.
   */
  now?: Date;
}

const DEFAULT_MAX_RELEASE = 16 * 1024 * 1024;

/**
 * The authenticated Release of `<base>/dists/<suite>/`. `key` is the upstream's armored public
 * key (one or several keys). Errors (RepodError): `upstream_signature` (422) when a key is given
 * and no signature verifies with it (or the suite is unsigned), `upstream_release_expired` (422)
 * past Valid-Until (with `now`), `invalid_source_key` (422) for a key that does not parse,
 * `upstream_index_invalid` / `upstream_index_too_large` (422), `upstream_unreachable` /
 * `upstream_http_error` (502), `upstream_release_missing` (404 from the upstream for both files).
 */
export async function readAptRelease(fetch: UpstreamFetch, base: string, suite: string, key?: string, options: ReadAptReleaseOptions = {}): Promise<AptRelease> {
  if (suite === '' || suite.split('/').some((s) => s === '' || s === '.' || s === '..') || /[?#\s\\]/.test(suite)) {
    throw new RepodError('invalid_suite', `'${suite}' is not a suite name`, { status: 400 });
  }
  const maxBytes = options.maxReleaseBytes ?? DEFAULT_MAX_RELEASE;
  const keys = key === undefined ? undefined : await readKeys(key);
  const dir = `dists/${suite}`;
  const inReleaseUrl = upstreamUrl(base, `${dir}/InRelease`);

  let text: string;
  let signedBy: AptRelease['signedBy'] = null;
  let signers: string[] = [];
  let where: string;
  const inRelease = await fetchUpstream(fetch, inReleaseUrl, true);
  if (inRelease) {
    where = inReleaseUrl;
    const armored = new TextDecoder().decode(await readSmallBody(inRelease, inReleaseUrl, maxBytes));
    let message: openpgp.CleartextMessage;
    try {
      message = await openpgp.readCleartextMessage({ cleartextMessage: armored });
    } catch (cause) {
      throw new RepodError('upstream_signature', `${inReleaseUrl} is not a clear-signed document: ${(cause as Error).message}`, {
        status: 422,
        cause,
        details: { url: inReleaseUrl },
      });
    }
    text = message.getText();
    if (keys) {
      signers = await verified(await openpgp.verify({ message, verificationKeys: keys, date: options.now }), keys, inReleaseUrl);
      signedBy = 'InRelease';
    }
  } else {
    const releaseUrl = upstreamUrl(base, `${dir}/Release`);
    where = releaseUrl;
    const release = await fetchUpstream(fetch, releaseUrl, true);
    if (!release) {
      throw new RepodError('upstream_release_missing', `${upstreamUrl(base, dir)}/ has neither InRelease nor Release: is '${suite}' a suite of this repository?`, {
        status: 404,
        details: { url: releaseUrl, suite },
      });
    }
    const bytes = await readSmallBody(release, releaseUrl, maxBytes);
    text = new TextDecoder().decode(bytes);
    if (keys) {
      const signatureUrl = `${releaseUrl}.gpg`;
      const signatureAnswer = await fetchUpstream(fetch, signatureUrl, true);
      if (!signatureAnswer) {
        throw new RepodError('upstream_signature', `${upstreamUrl(base, dir)}/ is not signed (no InRelease, no Release.gpg) and the source has a key`, {
          status: 422,
          details: { url: signatureUrl },
        });
      }
      const signatureBytes = await readSmallBody(signatureAnswer, signatureUrl, maxBytes);
      let signature: openpgp.Signature;
      try {
        const head = new TextDecoder().decode(signatureBytes.subarray(0, 64));
        signature = head.includes('-----BEGIN PGP')
          ? await openpgp.readSignature({ armoredSignature: new TextDecoder().decode(signatureBytes) })
          : await openpgp.readSignature({ binarySignature: signatureBytes });
      } catch (cause) {
        throw new RepodError('upstream_signature', `${signatureUrl} is not an OpenPGP signature: ${(cause as Error).message}`, {
          status: 422,
          cause,
          details: { url: signatureUrl },
        });
      }
      const message = await openpgp.createMessage({ binary: bytes });
      signers = await verified(await openpgp.verify({ message, signature, verificationKeys: keys, date: options.now, format: 'binary' }), keys, signatureUrl);
      signedBy = 'Release.gpg';
    }
  }

  const parsed = parseAptRelease(text, suite, where);
  if (options.now && parsed.validUntil && parsed.validUntil.getTime() < options.now.getTime()) {
    throw new RepodError('upstream_release_expired', `${where} expired on ${parsed.validUntil.toISOString()} (Valid-Until): the upstream is stale or replayed`, {
      status: 422,
      details: { url: where, validUntil: parsed.validUntil.toISOString() },
    });
  }
  return { ...parsed, signedBy, signers };
}

async function readKeys(armored: string): Promise<openpgp.Key[]> {
  try {
    return await openpgp.readKeys({ armoredKeys: armored });
  } catch (cause) {
    throw new RepodError('invalid_source_key', `the source's key is not an armored OpenPGP public key: ${(cause as Error).message}`, { status: 422, cause });
  }
}

type VerifyResult = Awaited<ReturnType<typeof openpgp.verify>>;

/** Fingerprints of the given keys whose signatures verified; throws unless one did and none of theirs failed. */
async function verified(result: VerifyResult, keys: openpgp.Key[], url: string): Promise<string[]> {
  const good: string[] = [];
  const problems: string[] = [];
  for (const signature of result.signatures) {
    const owner = keys.find((k) => k.getKeys(signature.keyID).length > 0);
    try {
      await signature.verified;
      if (owner) good.push(owner.getFingerprint().toUpperCase());
    } catch (cause) {
      if (!owner) continue; // a signature by a key the source does not trust
      problems.push(`key ${signature.keyID.toHex().toUpperCase()}: ${(cause as Error).message}`);
    }
  }
  if (problems.length > 0 || good.length === 0) {
    const found = result.signatures.map((s) => s.keyID.toHex().toUpperCase());
    const reason =
      problems.length > 0
        ? `a signature does not verify (${problems.join('; ')})`
        : found.length === 0
          ? 'it carries no signature'
          : `no signature is by the source's key (signed by ${found.join(', ')})`;
    throw new RepodError('upstream_signature', `${url}: ${reason}`, { status: 422, details: { url, signedBy: found } });
  }
  return [...new Set(good)];
}
