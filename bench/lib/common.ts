import { availableParallelism, cpus, platform, release, totalmem } from 'node:os';
/** Settings shared by the benchmark's parent and child processes. */
export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
export const DIST = 'rocky9';
export const ARCH = 'x86_64';

/** The machine a bench ran on, for the results files: ratios matter more than seconds, but seconds need their machine. */
export function machineInfo(): { platform: string; cpuModel: string; cores: number; memoryMiB: number; node: string } {
  return {
    platform: `${platform()} ${release()}`,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memoryMiB: Math.round(totalmem() / 1048576),
    node: process.version,
  };
}
