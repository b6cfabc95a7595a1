import { ROLES } from '../../auth/roles.ts';
import { Csrf, Layout, renderPage, type Viewer, when } from '../layout.tsx';

export interface AdminUser {
  username: string;
  role: string;
  created: string;
}

export interface AdminToken {
  id: string;
  name: string;
  role: string;
  created: string;
  expires?: string;
}

export interface AdminKey {
  fingerprint: string;
  keyId: string;
  algorithm: string;
  created: string;
  status: 'active' | 'retired';
}

export interface AdminPageData {
  users: AdminUser[];
  tokens: AdminToken[];
  keys: AdminKey[];
  /** The operator's key (REPOD_SIGNING_KEY) signs: the ring is not used, rotation happens outside. */
  externalKey: boolean;
  notice?: string;
}

const ALGORITHMS = ['ed25519', 'rsa4096', 'rsa3072', 'rsa2048'];

function RoleSelect(props: { id: string; selected?: string }) {
  return (
    <select id={props.id} name="role" required>
      {ROLES.map((r) => (
        <option value={r} selected={r === (props.selected ?? 'reader')}>
          {r}
        </option>
      ))}
    </select>
  );
}

/** Administration (admin role): users, API tokens, signing keys; the audit log has its own page. */
export function adminPage(viewer: Viewer, data: AdminPageData): Promise<string> {
  const csrf = viewer.csrf ?? '';
  return renderPage(
    <Layout title="Administration" viewer={viewer}>
      <h1>Administration</h1>
      {data.notice ? (
        <p class="notice ok" role="status">
          {data.notice}
        </p>
      ) : null}
      <p>
        <a href="/ui/audit">Audit log</a>
      </p>

      <section aria-labelledby="users">
        <h2 id="users">Users</h2>
        {data.users.length ? null : <p class="muted">No users besides the built-in admin (REPOD_ADMIN_PASSWORD).</p>}
        <table>
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Role</th>
              <th scope="col">Created</th>
              <th scope="col">Delete</th>
            </tr>
          </thead>
          <tbody>
            {data.users.map((u) => (
              <tr>
                <th scope="row">{u.username}</th>
                <td>{u.role}</td>
                <td>{when(u.created)}</td>
                <td>
                  <form class="inline" method="post" action={`/ui/admin/users/${encodeURIComponent(u.username)}/delete`}>
                    <Csrf token={csrf} />
                    <button type="submit" class="secondary" aria-label={`Delete user ${u.username}`}>
                      Delete
                    </button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <form method="post" action="/ui/admin/users" class="row" aria-label="Create or update a user">
          <Csrf token={csrf} />
          <div>
            <label for="user-name">User name</label>
            <input type="text" id="user-name" name="username" required autocomplete="off" />
          </div>
          <div>
            <label for="user-password">Password</label>
            <input type="password" id="user-password" name="password" required autocomplete="new-password" />
          </div>
          <div>
            <label for="user-role">Role</label>
            <RoleSelect id="user-role" />
          </div>
          <button type="submit">Save user</button>
        </form>
      </section>

      <section aria-labelledby="tokens">
        <h2 id="tokens">API tokens</h2>
        <p class="muted">Long-lived tokens for automation. A token is shown once, when it is created; only its name and role are kept in view.</p>
        {data.tokens.length ? (
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Revoke</th>
              </tr>
            </thead>
            <tbody>
              {data.tokens.map((t) => (
                <tr>
                  <th scope="row">{t.name}</th>
                  <td>{t.role}</td>
                  <td>{when(t.created)}</td>
                  <td>{t.expires ? when(t.expires) : <span class="muted">never</span>}</td>
                  <td>
                    <form class="inline" method="post" action={`/ui/admin/tokens/${encodeURIComponent(t.id)}/revoke`}>
                      <Csrf token={csrf} />
                      <button type="submit" class="secondary" aria-label={`Revoke token ${t.name}`}>
                        Revoke
                      </button>
                    </form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p class="muted">No API tokens.</p>
        )}
        <form method="post" action="/ui/admin/tokens" class="row" aria-label="Create an API token">
          <Csrf token={csrf} />
          <div>
            <label for="token-name">Token name</label>
            <input type="text" id="token-name" name="name" required autocomplete="off" />
          </div>
          <div>
            <label for="token-role">Token role</label>
            <RoleSelect id="token-role" selected="uploader" />
          </div>
          <div>
            <label for="token-days">Expires after (days, empty for never)</label>
            <input type="text" inputmode="numeric" id="token-days" name="expires_in_days" pattern="[0-9]*" />
          </div>
          <button type="submit">Create token</button>
        </form>
      </section>

      <section aria-labelledby="keys">
        <h2 id="keys">Signing keys</h2>
        {data.externalKey ? (
          <p class="notice">Metadata is signed with the operator's key (REPOD_SIGNING_KEY): rotate it where it is kept. The keys below are not used.</p>
        ) : (
          <p class="muted">
            Active keys sign every metadata file. To rotate: add a new key (it signs beside the old one), let clients fetch <a href="/repos/gpg.key">/repos/gpg.key</a> again, then
            retire the old key.
          </p>
        )}
        <table>
          <thead>
            <tr>
              <th scope="col">Fingerprint</th>
              <th scope="col">Algorithm</th>
              <th scope="col">Created</th>
              <th scope="col">Status</th>
              <th scope="col">Change</th>
            </tr>
          </thead>
          <tbody>
            {data.keys.map((k) => (
              <tr>
                <th scope="row">
                  <code>{k.fingerprint}</code>
                </th>
                <td>{k.algorithm}</td>
                <td>{when(k.created)}</td>
                <td class={k.status === 'active' ? 'good' : 'muted'}>{k.status}</td>
                <td>
                  <form class="inline" method="post" action={`/ui/admin/keys/${encodeURIComponent(k.fingerprint)}/${k.status === 'active' ? 'retire' : 'activate'}`}>
                    <Csrf token={csrf} />
                    <button type="submit" class={k.status === 'active' ? 'danger' : 'secondary'} aria-label={`${k.status === 'active' ? 'Retire' : 'Activate'} key ${k.keyId}`}>
                      {k.status === 'active' ? 'Retire' : 'Activate'}
                    </button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <form method="post" action="/ui/admin/keys/rotate" class="row" aria-label="Rotate the signing key">
          <Csrf token={csrf} />
          <div>
            <label for="key-algorithm">New key's algorithm</label>
            <select id="key-algorithm" name="algorithm">
              {ALGORITHMS.map((a) => (
                <option value={a}>{a}</option>
              ))}
            </select>
          </div>
          <button type="submit">Rotate: add a new key</button>
        </form>
      </section>
    </Layout>,
  );
}

/** A new API token, the one time it is shown. */
export function tokenCreatedPage(viewer: Viewer, token: { token: string; name: string; role: string; expires?: string }): Promise<string> {
  return renderPage(
    <Layout title="Token created" viewer={viewer}>
      <h1>Token {token.name} created</h1>
      <p class="notice ok" role="status">
        Copy the token now: it is not shown again. Role {token.role}
        {token.expires ? `, expires ${when(token.expires)}` : ', no expiry'}.
      </p>
      <h2 id="new-token-heading">The new token</h2>
      <pre data-copy="the token" id="new-token">
        {token.token}
      </pre>
      <p>
        <a href="/ui/admin#tokens">Back to the API tokens</a>
      </p>
    </Layout>,
  );
}
