#!/usr/bin/env node
// The `repod` command. It runs dist/cli.mjs, the CLI bundled by scripts/build-server.mjs, and builds
// that first when it is missing or older than the sources (once, about 0.3 s): under tsx's loader
// every command started 0.4 s later. Where no bundle can be built (no esbuild, a read-only install),
// it runs the TypeScript under tsx's loader as before. One process either way, so its memory is the
// CLI's; paths come from this file's real location, so a global install's symlink works.
import { fileURLToPath, pathToFileURL } from 'node:url';

let runMain;
try {
  const { buildCli, bundleIsStale, cliBundle } = await import('../scripts/build-server.mjs');
  if (await bundleIsStale(cliBundle)) await buildCli();
  ({ runMain } = await import(pathToFileURL(cliBundle).href));
} catch {
  const { register } = await import('tsx/esm/api');
  register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
  ({ runMain } = await import('../src/cli/main.ts'));
}
await runMain(process.argv.slice(2));
