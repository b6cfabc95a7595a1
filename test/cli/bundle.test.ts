/**
 * bin/repod.mjs runs the CLI bundle (dist/cli.mjs, scripts/build-server.mjs), building it when it is
 * missing or older than the sources, instead of loading the TypeScript under tsx on every command.
 */
import assert from 'node:assert/strict';
import { readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { REPO_ROOT } from '../helpers/paths.ts';
import { repod } from './run-cli.ts';

const BUNDLE = join(REPO_ROOT, 'dist/cli.mjs');
const { version } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };

describe('the repod command runs its bundle', () => {
  // Whatever a test leaves, the next command rebuilds a bundle from the sources.
  after(() => rm(BUNDLE, { force: true }));

  it('builds a missing bundle, then runs it as it is while it is fresh', async () => {
    await rm(BUNDLE, { force: true });
    const first = await repod(['--version']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout.trim(), `repod ${version}`, 'the version the build fixed in the bundle');
    const built = await stat(BUNDLE);

    // The command runs the bundle, not the sources: a fresh bundle that says another version is believed.
    const text = await readFile(BUNDLE, 'utf8');
    const marked = text.replace(`return ${JSON.stringify(version)};`, 'return "9.9.9-bundle";');
    assert.notEqual(marked, text, 'the bundle returns the version it was built with');
    await writeFile(BUNDLE, marked);
    const second = await repod(['--version']);
    assert.equal(second.stdout.trim(), 'repod 9.9.9-bundle');

    // Older than the sources (a git pull): rebuilt before it runs.
    await utimes(BUNDLE, new Date('2000-01-01'), new Date('2000-01-01'));
    const third = await repod(['--version']);
    assert.equal(third.stdout.trim(), `repod ${version}`);
    assert.ok((await stat(BUNDLE)).mtimeMs >= built.mtimeMs, 'rebuilt');
  });
});
