import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

/** The repository root (tests run from any working directory). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
