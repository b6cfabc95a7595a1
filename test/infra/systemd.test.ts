/**
 * infra/systemd/repod.service: systemd's own checks (`systemd-analyze verify`, and `security
 * --offline` for the hardening), and its command line run as the unit runs it — ExecStart in
 * WorkingDirectory (the checkout stands for /opt/repod) with the unit's Environment= and the
 * example EnvironmentFile, on a temp file store and a free port — until repod answers its probes
 * and the admin token of the env file, then stopped with the unit's KillSignal.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../helpers/paths.ts';
import { freePort } from '../helpers/ports.ts';
import { run } from '../helpers/run.ts';
import { parseEnvFile, parseUnit, words } from './systemd-unit.ts';

const UNIT = join(REPO_ROOT, 'infra/systemd/repod.service');
const ENV_EXAMPLE = join(REPO_ROOT, 'infra/systemd/repod.env.example');

function systemdAnalyzeSkip(): string | false {
  const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  return probe.error || probe.status !== 0 ? 'systemd-analyze is not available (apt-get install systemd)' : false;
}

describe('infra/systemd/repod.service', () => {
  it('passes systemd-analyze verify without a warning, and a misspelled directive would not', { skip: systemdAnalyzeSkip() }, async () => {
    const verify = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal(verify.stderr.trim(), '', 'no warning');
    // The check above is only worth something if systemd-analyze complains about a broken unit.
    const dir = await mkdtemp(join(tmpdir(), 'repod-unit-'));
    await writeFile(join(dir, 'repod.service'), (await readFile(UNIT, 'utf8')).replace('ProtectSystem=strict', 'ProtectSytem=strict'));
    const broken = spawnSync('systemd-analyze', ['verify', join(dir, 'repod.service')], { encoding: 'utf8' });
    assert.match(broken.stderr, /Unknown key 'ProtectSytem'/);
  });

  it('is hardened: systemd-analyze security rates its exposure 2.0 or lower ("OK")', { skip: systemdAnalyzeSkip() }, () => {
    const security = spawnSync('systemd-analyze', ['security', '--offline=yes', UNIT], { encoding: 'utf8' });
    const level = /Overall exposure level for repod\.service: ([\d.]+)/.exec(security.stdout);
    assert.ok(level, security.stdout + security.stderr);
    assert.ok(Number(level[1]) <= 2.0, `exposure ${level[1]}:\n${security.stdout}`);
  });

  it('declares what it needs: its state directory is the default store, no capabilities, a restart policy', async () => {
    const unit = parseUnit(await readFile(UNIT, 'utf8'));
    const service = unit.get('Service')!;
    const one = (key: string) => service.get(key)?.at(-1);
    assert.equal(one('DynamicUser'), 'yes');
    assert.equal(one('NoNewPrivileges'), 'yes');
    assert.equal(one('ProtectSystem'), 'strict');
    assert.equal(one('CapabilityBoundingSet'), '');
    assert.equal(one('Restart'), 'on-failure');
    const env = Object.fromEntries((service.get('Environment') ?? []).flatMap(words).map((w) => w.split(/=(.*)/s).slice(0, 2)));
    assert.equal(env.REPOD_STORAGE, `file:/var/lib/${one('StateDirectory')}`, 'the file store lives in the StateDirectory (writable under ProtectSystem=strict)');
    assert.equal(unit.get('Install')?.get('WantedBy')?.[0], 'multi-user.target');
  });

  it("its ExecStart, Environment= and the example EnvironmentFile start repod, which answers its probes and the env file's admin token", { timeout: 60_000 }, async () => {
    const unit = parseUnit(await readFile(UNIT, 'utf8'));
    const service = unit.get('Service')!;
    const argv = words(service.get('ExecStart')![0]);
    assert.ok(argv[0].startsWith('/'), 'ExecStart names an absolute executable');
    assert.equal(service.get('WorkingDirectory')![0], '/opt/repod');
    assert.equal(service.get('EnvironmentFile')![0], '/etc/repod/repod.env');
    // EnvironmentFile= overrides Environment= (systemd.exec(5)); a test store and port override both.
    const fromUnit = Object.fromEntries((service.get('Environment') ?? []).flatMap(words).map((w) => w.split(/=(.*)/s).slice(0, 2)));
    const fromFile = parseEnvFile(await readFile(ENV_EXAMPLE, 'utf8'));
    assert.ok(fromFile.REPOD_ADMIN_TOKEN, 'the env file example sets an admin token');
    // As installed: `npm run build` made the bundle ExecStart runs.
    await run(process.execPath, [join(REPO_ROOT, 'scripts/build-server.mjs')], { timeoutMs: 120_000 });
    const dir = await mkdtemp(join(tmpdir(), 'repod-unit-run-'));
    const port = await freePort();
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ...fromUnit,
      ...fromFile,
      REPOD_STORAGE: `file:${join(dir, 'data')}`,
      REPOD_PORT: String(port),
      REPOD_HOST: '127.0.0.1',
    };
    const child = spawn(argv[0], argv.slice(1), { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    try {
      const url = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 45_000;
      for (;;) {
        assert.equal(child.exitCode, null, `repod exited:\n${output}`);
        const ok = await fetch(`${url}/api/v1/health`).then(
          (r) => r.status === 200,
          () => false,
        );
        if (ok) break;
        assert.ok(Date.now() < deadline, `repod did not answer /api/v1/health:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal((await fetch(`${url}/api/v1/ready`)).status, 200);
      const tokens = await fetch(`${url}/api/v1/tokens`, { headers: { authorization: `Bearer ${fromFile.REPOD_ADMIN_TOKEN}` } });
      assert.equal(tokens.status, 200, 'the admin token of the env file is accepted');
      assert.equal((await fetch(`${url}/api/v1/tokens`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
      assert.doesNotMatch(output, /admin token \(shown once/, 'no token generated: the env file gave one');
      // KillSignal=SIGTERM: a clean exit well within TimeoutStopSec.
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill((service.get('KillSignal')?.[0] ?? 'SIGTERM') as NodeJS.Signals);
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
