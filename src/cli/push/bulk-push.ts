import { ApiError } from '../http-client.ts';
import type { LocalFile } from './local-files.ts';

/** One package in a builds answer (POST .../builds). */
export interface PushedPackage {
  package: string;
  version: string;
  architecture: string;
  filename: string;
  sha256: string;
  size: number;
  status?: string;
}

/** The builds endpoint's answer: one change, one revision (or none when nothing changed). */
export interface BuildAnswer {
  status: string;
  distribution: string;
  revision: { id: string; number: number } | null;
  packages: PushedPackage[];
  removed?: Array<{ nevra?: string; label?: string; filename?: string; sha256?: string }>;
}

export interface RefusedFile {
  path: string;
  filename: string;
  status: number;
  error: string;
  message: string;
}

export interface BulkOutcome {
  /** One answer per request that published (or found everything already there). */
  answers: BuildAnswer[];
  refused: RefusedFile[];
  /** Files per request sent, in order (retries of a refused batch's halves included). */
  requests: number[];
}

/**
 * Statuses that are about the files of a request (a bad package, a duplicate, the wrong kind of
 * package, too big): the rest of the batch is worth sending again without them. Anything else
 * (the token, the distribution, the server) would refuse every batch alike and ends the push.
 */
const FILE_REFUSALS = new Set([400, 409, 413, 415, 422]);

/**
 * Sends the batches one after another, each as one change (one revision). A batch the server
 * refuses because of its files is split in halves and each half sent again, down to single files,
 * so a bad package costs about log2(batch) extra requests and only it is left out; the other
 * packages of its batch land in the revisions of the halves.
 */
export async function pushBatches(batches: LocalFile[][], send: (files: LocalFile[], resend: boolean) => Promise<BuildAnswer>): Promise<BulkOutcome> {
  const outcome: BulkOutcome = { answers: [], refused: [], requests: [] };
  const attempt = async (files: LocalFile[], resend: boolean): Promise<void> => {
    outcome.requests.push(files.length);
    try {
      outcome.answers.push(await send(files, resend));
    } catch (error) {
      if (!(error instanceof ApiError) || !FILE_REFUSALS.has(error.status)) throw error;
      if (files.length === 1) {
        outcome.refused.push({ path: files[0].path, filename: files[0].filename, status: error.status, error: error.code, message: error.message });
        return;
      }
      const mid = files.length >> 1;
      await attempt(files.slice(0, mid), true);
      await attempt(files.slice(mid), true);
    }
  };
  for (const batch of batches) await attempt(batch, false);
  return outcome;
}

/** What a push did, counted over every answer. */
export function countOutcome(outcome: BulkOutcome): { published: number; unchanged: number; skipped: number; refused: number; revisions: number[] } {
  const counts = { published: 0, unchanged: 0, skipped: 0, refused: outcome.refused.length, revisions: [] as number[] };
  const revisions = new Set<number>();
  for (const a of outcome.answers) {
    if (a.status === 'published' && a.revision) revisions.add(a.revision.number);
    for (const p of a.packages ?? []) {
      const status = p.status ?? a.status;
      if (status === 'skipped') counts.skipped++;
      else if (status === 'unchanged') counts.unchanged++;
      else counts.published++;
    }
  }
  counts.revisions = [...revisions].sort((x, y) => x - y);
  return counts;
}
