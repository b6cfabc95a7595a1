import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

/** The repository root (tests run from any working directory). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Real package fixtures: ../shared/fixtures beside the repository, or REPOD_FIXTURES. */
export const FIXTURES = process.env.REPOD_FIXTURES ?? resolve(REPO_ROOT, '../shared/fixtures');

export function fixture(name: string): string {
  return resolve(FIXTURES, name);
}
