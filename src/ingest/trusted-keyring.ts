import { layout } from '../bucket/layout.ts';
import type { Keyring } from '../signing/keyring.ts';
import { RpmKeyring } from '../signing/rpm-verify.ts';
import type { BlobStore } from '../storage/blob-store.ts';

/**
 * The keyring RPM uploads are verified against, built once per state of the keys it comes from.
 * Building it reads every private key of the metadata keyring and parses every key with openpgp:
 * milliseconds of CPU that every single-file upload paid again. The state is the etags of the
 * keyring object and of each trusted key, a few stats; any change to them (a rotation, an added
 * trusted key, on any server) gives a new state and a fresh build.
 */
interface Built {
  state: string;
  ring: Promise<RpmKeyring>;
}

const builtByKeyring = new WeakMap<object, Built>();

/** What identifies the keys' current content: the etags of the objects they are read from. */
async function keysState(store: BlobStore): Promise<string> {
  const parts = [(await store.head(layout.keyring()))?.etag ?? '-'];
  for await (const e of store.list(layout.trustedKeysPrefix())) parts.push(`${e.key}=${(await store.head(e.key))?.etag ?? '-'}`);
  return parts.join('\n');
}

/**
 * The trusted keys as an RpmKeyring; `build` reads them (signature-policy.ts trustedKeys). A build
 * that fails is forgotten, so the next upload tries again.
 */
export async function cachedTrustedKeyring(keyring: Pick<Keyring, 'list'>, store: BlobStore, build: () => Promise<readonly string[]>): Promise<RpmKeyring> {
  const state = await keysState(store);
  const cached = builtByKeyring.get(keyring);
  if (cached && cached.state === state) return cached.ring;
  // Read after the state: a change racing with the build shows up as a new state next time.
  const ring = build().then((keys) => RpmKeyring.from(keys));
  const built = { state, ring };
  builtByKeyring.set(keyring, built);
  ring.catch(() => {
    if (builtByKeyring.get(keyring) === built) builtByKeyring.delete(keyring);
  });
  return ring;
}
