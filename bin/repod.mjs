#!/usr/bin/env node
// The `repod` command: registers tsx's ESM loader in this process (one process, so its memory is
// the CLI's) and runs the TypeScript CLI. Paths are resolved from this file's real location, so a
// global install's symlink works, and the project's tsconfig is used whatever the working directory.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
const { runMain } = await import('../src/cli/main.ts');
await runMain(process.argv.slice(2));
