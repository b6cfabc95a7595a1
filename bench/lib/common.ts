/** Settings shared by the benchmark's parent and child processes. */
export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
export const DIST = 'rocky9';
export const ARCH = 'x86_64';
