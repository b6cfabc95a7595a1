import { layout } from '../bucket/layout.ts';
import type { Capabilities } from '../capabilities.ts';
import { RepodError } from '../errors.ts';
import { getJson, putJson } from '../storage/objects.ts';
import { fromBase64, toBase64 } from '../util/bytes.ts';
import type { Principal } from './roles.ts';
import { isRole, type Role } from './roles.ts';

/**
 * Users with a role and a password, stored as PBKDF2-SHA256 hashes (WebCrypto: the same on Node
 * and Workers). Comparison of the derived keys is constant-time.
 */
export interface UserRecord {
  format: 1;
  username: string;
  role: Role;
  created: string;
  password: { algorithm: 'pbkdf2-sha256'; iterations: number; salt: string; hash: string };
}

const ITERATIONS = 210_000;
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: salt as Uint8Array<ArrayBuffer>, iterations }, key, 256));
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export class Users {
  constructor(private readonly caps: Capabilities) {}

  async create(username: string, password: string, role: Role): Promise<Omit<UserRecord, 'password'>> {
    if (!NAME.test(username) || username === 'admin')
      throw new RepodError('invalid_request', `invalid user name ${JSON.stringify(username)} (lower-case letters, digits, . _ -; not admin)`, { status: 400 });
    if (!isRole(role)) throw new RepodError('invalid_request', `unknown role ${JSON.stringify(role)}`, { status: 400 });
    if (password.length < 8) throw new RepodError('invalid_request', 'passwords have at least 8 characters', { status: 400 });
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const record: UserRecord = {
      format: 1,
      username,
      role,
      created: this.caps.now().toISOString(),
      password: { algorithm: 'pbkdf2-sha256', iterations: ITERATIONS, salt: toBase64(salt), hash: toBase64(await derive(password, salt, ITERATIONS)) },
    };
    await putJson(this.caps.store, layout.user(username), record);
    const { password: _p, ...visible } = record;
    return visible;
  }

  async verify(username: string, password: string): Promise<Principal | null> {
    if (!NAME.test(username)) return null;
    const record = (await getJson<UserRecord>(this.caps.store, layout.user(username)))?.value;
    if (!record) return null;
    const got = await derive(password, fromBase64(record.password.salt), record.password.iterations);
    return equal(got, fromBase64(record.password.hash)) ? { subject: record.username, role: record.role } : null;
  }

  async list(): Promise<Array<Omit<UserRecord, 'password'>>> {
    const out: Array<Omit<UserRecord, 'password'>> = [];
    for await (const e of this.caps.store.list(layout.usersPrefix())) {
      const record = (await getJson<UserRecord>(this.caps.store, e.key))?.value;
      if (record) {
        const { password: _p, ...visible } = record;
        out.push(visible);
      }
    }
    return out;
  }

  async remove(username: string): Promise<boolean> {
    if (!NAME.test(username) || !(await this.caps.store.head(layout.user(username)))) return false;
    await this.caps.store.delete(layout.user(username));
    return true;
  }
}
