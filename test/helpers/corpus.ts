/**
 * The third-party package corpus: real RPMs and .debs from other projects (v3 headers, ML-DSA and
 * v6 signatures, ISO-8859-2 text, delta RPMs, corrupted packages...). It is not part of this
 * repository; tests whose point is one of those files read it from:
 *
 * - `REPOD_TEST_CORPUS` (a directory, relative to the repository root unless absolute;
 *   `REPOD_FIXTURES`, its old name, is still accepted; set but missing is an error), or
 * - `../shared/fixtures` beside the repository root, when that exists (CI has it there).
 *
 * Without it those tests are skipped (node:test `skip`), with one line per test file saying why.
 * Every other test builds its own packages (helpers/rpmbuild.ts, helpers/debs.ts, helpers/packages.ts).
 */
import { readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { REPO_ROOT } from './paths.ts';

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function locate(): string | null {
  const explicit = process.env.REPOD_TEST_CORPUS || process.env.REPOD_FIXTURES;
  if (explicit) {
    const dir = resolve(REPO_ROOT, explicit);
    // Asked for by name: a typo must not quietly turn the corpus tests into skips.
    if (!isDirectory(dir)) throw new Error(`REPOD_TEST_CORPUS=${explicit}: no such directory`);
    return dir;
  }
  const beside = resolve(REPO_ROOT, '../shared/fixtures');
  return isDirectory(beside) ? beside : null;
}

/** The corpus directory, or null when it is absent. */
export const CORPUS: string | null = locate();

export const CORPUS_SKIP_MESSAGE = 'corpus tests skipped: set REPOD_TEST_CORPUS=<dir> (the third-party package corpus; CI has it at ../shared/fixtures)';

let explained = false;

/**
 * The node:test `skip` option for a test (or describe block) that needs the corpus: false when it
 * is present; otherwise the full explanation the first time in this file, a short reminder after.
 *
 *   test('reads the v3 header', { skip: needsCorpus() }, () => { ... corpusFile('hello-1.0-1.x86_64.rpm-v3') ... });
 */
export function needsCorpus(): string | false {
  if (CORPUS !== null) return false;
  if (explained) return 'no corpus';
  explained = true;
  return CORPUS_SKIP_MESSAGE;
}

/** The path of a corpus file; throws (with the way to get it) when the corpus is absent. */
export function corpusFile(name: string): string {
  if (CORPUS === null) throw new Error(`${name}: ${CORPUS_SKIP_MESSAGE}`);
  return resolve(CORPUS, name);
}

/** Paths of the corpus files whose names pass `filter`, sorted by name; [] when the corpus is absent. */
export function corpusFiles(filter: (name: string) => boolean): string[] {
  if (CORPUS === null) return [];
  const dir = CORPUS;
  return readdirSync(dir)
    .filter(filter)
    .sort()
    .map((name) => resolve(dir, name));
}
