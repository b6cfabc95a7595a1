/**
 * The server under tsx's loader (src/runtime/node.ts, as the tests start it) on a store, with the
 * bench's admin token: what the apt, revisions, sqlite and ui benchmarks have always measured,
 * kept so their figures stay comparable with earlier runs. `nodeArgs` (e.g. --cpu-prof) go on
 * the command line.
 */
import type { RunningServer } from '../../test/helpers/server.ts';
import { startBenchServer as startServerOf } from './bundle-server.ts';
import { ADMIN_TOKEN } from './common.ts';

export function startBenchServer(storage: string, nodeArgs: string[] = []): Promise<RunningServer> {
  return startServerOf({ REPOD_ADMIN_TOKEN: ADMIN_TOKEN, REPOD_STORAGE: storage }, { runtime: 'tsx', nodeArgs });
}
