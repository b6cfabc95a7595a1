import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ADMIN_TOKEN } from './common.ts';
import { httpRequest, keepAliveAgent, multipart } from './http.ts';
import { prepareRevPackages } from './rev-common.ts';

/** How many packages the served primary.xml of `dist` lists (0 before the first publish). */
export async function primaryCount(url: string, dist: string): Promise<number> {
  const repomd = await httpRequest(`${url}/repos/${dist}/x86_64/repodata/repomd.xml`, { keep: true });
  if (repomd.status !== 200) return 0;
  const href = /<data type="primary">[\s\S]*?<location href="([^"]+)"/.exec(repomd.body.toString())?.[1];
  if (!href) return 0;
  const primary = await httpRequest(`${url}/repos/${dist}/x86_64/${href}`, { keep: true });
  const count = /packages="(\d+)"/.exec(gunzipSync(primary.body).subarray(0, 4096).toString());
  return count ? Number(count[1]) : 0;
}

/**
 * Sends every multipart body to POST /api/v1/upload from `clients` concurrent keep-alive clients,
 * as CI fleets upload, handing each 201 answer to `onAnswer`; returns the number refused (the
 * first three are logged).
 */
export async function uploadAll(
  url: string,
  bodies: Array<{ body: Buffer; contentType: string }>,
  clients: number,
  log: (message: string) => void,
  onAnswer: (answer: Record<string, unknown>) => void,
): Promise<number> {
  const agent = keepAliveAgent(clients);
  let next = 0;
  let failures = 0;
  try {
    const client = async () => {
      while (next < bodies.length) {
        const { body, contentType } = bodies[next++];
        const r = await httpRequest(`${url}/api/v1/upload`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': contentType, 'content-length': String(body.length) },
          body,
          agent,
          keep: true,
        });
        if (r.status !== 201) {
          failures++;
          if (failures <= 3) log(`  upload answered ${r.status}: ${r.body.toString().slice(0, 300)}`);
          continue;
        }
        onAnswer(JSON.parse(r.body.toString()) as Record<string, unknown>);
      }
    };
    await Promise.all(Array.from({ length: clients }, client));
  } finally {
    agent.destroy();
  }
  return failures;
}

/** The first `files` benchrev-* RPMs (built once and cached) and their POST /api/v1/upload bodies for `dist`. */
export async function revUploadBodies(
  rpmsDir: string,
  files: number,
  dist: string,
  log: (message: string) => void,
): Promise<{ paths: string[]; bodies: Array<{ body: Buffer; contentType: string }> }> {
  const set = await prepareRevPackages(rpmsDir, files, log);
  const paths = set.files.slice(0, files).map((f) => join(set.dir, f));
  const bodies = await Promise.all(
    paths.map(async (path) => multipart({ distribution: dist }, { field: 'file', name: basename(path), bytes: new Uint8Array(await readFile(path)) })),
  );
  return { paths, bodies };
}

/** Waits until the served primary.xml of `dist` lists `count` packages. */
export async function untilListed(url: string, dist: string, count: number): Promise<void> {
  while ((await primaryCount(url, dist)) < count) await new Promise((r) => setTimeout(r, 20));
}
