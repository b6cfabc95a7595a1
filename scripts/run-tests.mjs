#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
// Runs every test/**/*.test.ts file with node's test runner (Node 20 has no --test globs).
// Optional arguments filter the files by substring: `npm run test:unit -- storage`.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : path.endsWith('.test.ts') ? [path] : [];
  });
}
const filters = process.argv.slice(2);
const files = walk('test')
  .sort()
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
// --test-force-exit: a test file whose failure leaks a handle (a server child) must not hang the run.
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-force-exit', ...files], { stdio: 'inherit' });
// gpg, rpm, dnf and zypper start a gpg-agent for every temporary keyring the tests make and leave
// it running (about 300 per full run, 3 MB each). Only agents whose home is a temporary directory
// are stopped: those are the tests' own.
spawnSync('pkill', ['-f', '^gpg-agent --homedir (/tmp|/var/tmp)/'], { stdio: 'ignore' });
process.exit(result.status ?? 1);
