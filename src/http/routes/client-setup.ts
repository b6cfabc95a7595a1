import { Hono } from 'hono';
import type { Distribution } from '../../config/distributions.ts';
import type { Core } from '../../core/core.ts';
import { NotFoundError } from '../../errors.ts';
import { baseUrl } from '../paths.ts';

/** Which keys sign the distribution's metadata, so a user can compare with what they imported. */
function keyLine(fingerprints: string[] | undefined): string {
  return fingerprints?.length ? `# Metadata is signed by: ${fingerprints.join(', ')}\n` : '';
}

function rpmSetup(base: string, dist: Distribution & { kind: 'rpm' }, fingerprints?: string[]): string {
  const arch = dist.architectures.includes('x86_64') ? 'x86_64' : dist.architectures[0];
  return `${keyLine(fingerprints)}# dnf / yum: save as /etc/yum.repos.d/repod-${dist.name}.repo
[repod-${dist.name}]
name=repod ${dist.name}
baseurl=${base}/repos/${dist.name}/$basearch/
enabled=1
gpgcheck=1
repo_gpgcheck=1
gpgkey=${base}/repos/${dist.name}/gpg.key
${dist.private ? 'username=<user>\npassword=<password or API token>\n' : ''}
# Debuginfo and debugsource packages (dnf debuginfo-install, or dnf --enablerepo=repod-${dist.name}-debuginfo):
[repod-${dist.name}-debuginfo]
name=repod ${dist.name} debuginfo
baseurl=${base}/repos/${dist.name}/$basearch/debug/
enabled=0
gpgcheck=1
repo_gpgcheck=1
gpgkey=${base}/repos/${dist.name}/gpg.key
${dist.private ? 'username=<user>\npassword=<password or API token>\n' : ''}
# Mirrors (dnf reposync, sorted Packages/<letter>/ tree and sqlite metadata):
#   baseurl=${base}/hashed/${dist.name}/$basearch/

# zypper:
zypper addrepo --refresh ${base}/repos/${dist.name}/${arch}/ repod-${dist.name}
zypper --gpg-auto-import-keys refresh repod-${dist.name}

# A pinned revision N (never changes): baseurl=${base}/revisions/${dist.name}/N/$basearch/
`;
}

function aptSetup(base: string, dist: Distribution & { kind: 'apt' }, fingerprints?: string[]): string {
  return `${keyLine(fingerprints)}# apt: the key, then a deb822 source
curl -fsSL ${base}/repos/${dist.name}/gpg.key -o /etc/apt/keyrings/repod-${dist.name}.asc

# /etc/apt/sources.list.d/repod-${dist.name}.sources
Types: deb
URIs: ${base}/repos
Suites: ${dist.name}
Components: ${dist.components.join(' ')}
Architectures: ${dist.architectures.join(' ')}
Signed-By: /etc/apt/keyrings/repod-${dist.name}.asc
${dist.private ? `\n# /etc/apt/auth.conf.d/repod.conf (private distribution)\nmachine ${base.replace(/^https?:\/\//, '')}/repos login <user> password <password or API token>\n` : ''}
# One-line form:
# deb [signed-by=/etc/apt/keyrings/repod-${dist.name}.asc] ${base}/repos ${dist.name} ${dist.components.join(' ')}
# A pinned revision N (never changes): URIs: ${base}/revisions/${dist.name}/N
`;
}

/**
 * Ready-to-paste client configuration of a distribution served at `base` (the API and the UI show
 * it). The key URL is the distribution's own (/repos/<dist>/gpg.key): it serves the keys that sign
 * this distribution, which may differ from another's; `fingerprints` names them.
 */
export function clientSetupText(base: string, dist: Distribution, fingerprints?: string[]): string {
  return dist.kind === 'rpm' ? rpmSetup(base, dist, fingerprints) : aptSetup(base, dist, fingerprints);
}

/** `GET /repos/<dist>/client-setup`: ready-to-paste client configuration for this server. */
export function clientSetupRoutes(core: Pick<Core, 'distributions' | 'keyring'>): Hono {
  const app = new Hono();
  app.get('/:dist/client-setup', async (c) => {
    const dist = core.distributions.get(c.req.param('dist'));
    if (!dist) throw new NotFoundError(`no distribution ${JSON.stringify(c.req.param('dist'))}`, 'unknown_distribution');
    const base = baseUrl(c.req.raw);
    const signer = await core.keyring.signer(dist);
    return c.text(clientSetupText(base, dist, signer.fingerprints));
  });
  return app;
}
