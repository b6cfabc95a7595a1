#!/usr/bin/env node
import { spawn, spawnSync } from 'node:child_process';
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

/**
 * Collects the failed tests of a TAP stream, each with the names of the suites around it and its
 * YAML block, so they can be printed again after the totals: a CI log is often read from its end,
 * and a failure 20 minutes up the log is easy to miss.
 */
function failureCollector() {
  const names = []; // names[depth] = the subtest name announced at that depth
  const failures = [];
  let open = null; // the failure whose YAML block is being read: { indent, lines, done }
  return {
    line(text) {
      if (open && !open.done) {
        open.lines.push(text);
        if (text.trimEnd() === `${' '.repeat(open.indent + 2)}...`) open.done = true;
        return;
      }
      const indent = text.length - text.trimStart().length;
      const depth = indent / 4;
      const subtest = /^\s*# Subtest: (.*)$/.exec(text);
      if (subtest) {
        names.length = depth;
        names[depth] = subtest[1];
        return;
      }
      if (/^\s*not ok \d+/.test(text)) {
        open = { indent, lines: [names.slice(0, depth + 1).join(' > '), text], done: false };
        failures.push(open);
      }
    },
    // A suite fails when a test in it fails: only the tests' own failures are worth repeating.
    report() {
      return failures.filter((f) => !f.lines.some((l) => l.includes("failureType: 'subtestsFailed'")));
    },
  };
}

const filters = process.argv.slice(2);
const files = walk('test')
  .sort()
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
// --test-force-exit: a test file whose failure leaks a handle (a server child) must not hang the run.
// On a terminal node's spec reporter lists the failed tests at its end itself; elsewhere (CI) the
// output is TAP, read here on its way through.
const tty = Boolean(process.stdout.isTTY);
const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-force-exit', ...files], {
  stdio: ['inherit', tty ? 'inherit' : 'pipe', 'inherit'],
});
const collector = failureCollector();
let pending = '';
child.stdout?.on('data', (chunk) => {
  process.stdout.write(chunk);
  const lines = (pending + chunk.toString('utf8')).split('\n');
  pending = lines.pop() ?? '';
  for (const line of lines) collector.line(line);
});
const status = await new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
if (pending) collector.line(pending);
const failed = collector.report();
if (failed.length > 0) {
  process.stdout.write(`\n# ${failed.length} failed test(s), repeated from above:\n`);
  for (const f of failed) process.stdout.write(`# ${f.lines[0]}\n${f.lines.slice(1, 80).join('\n')}\n`);
}
// gpg, rpm, dnf and zypper start a gpg-agent for every temporary keyring the tests make and leave
// it running (about 300 per full run, 3 MB each). Only agents whose home is a temporary directory
// are stopped: those are the tests' own.
spawnSync('pkill', ['-f', '^gpg-agent --homedir (/tmp|/var/tmp)/'], { stdio: 'ignore' });
process.exit(status);
