/**
 * The main nginx.conf of an nginx the tests start as an ordinary process: everything it writes
 * (pid, logs, request-body and proxy temp files) under `dir`, workers as nobody when started as
 * root, and the test's own `http` block content.
 */
export function nginxMainConf(dir: string, options: { connections: number; logFormat: string; http: string[] }): string {
  // Started as root, nginx's workers run as nobody: they must be able to read what they serve.
  const user = process.getuid?.() === 0 ? 'user nobody nogroup;' : '';
  return [
    user,
    'worker_processes 1;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log info;`,
    `events { worker_connections ${options.connections}; }`,
    'http {',
    `  log_format test '${options.logFormat}';`,
    `  access_log ${dir}/access.log test;`,
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${dir}/temp/${kind === 'client_body' ? 'body' : kind};`),
    ...options.http.map((line) => `  ${line}`),
    '}',
    '',
  ].join('\n');
}
