/**
 * OSV advisories for tests, written the way distributions publish them (ossf/osv-schema): one
 * affected package in one ecosystem, an ECOSYSTEM range from `introduced` to an optional `fixed`,
 * and a severity given either as a CVSS vector in `severity[]` or as a word in
 * `database_specific.severity` (AlmaLinux, Rocky and SUSE rate their advisories that way).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** CVSS 3.1 base 9.8 (Critical): network, no privileges, no interaction, high C/I/A. */
export const CVSS_CRITICAL = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';
/** CVSS 3.1 base 7.5 (High): network, no privileges, availability only. */
export const CVSS_HIGH = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H';

export interface AdvisoryInput {
  id: string;
  ecosystem: string;
  /** The package the advisory names: a binary or source rpm name, or a Debian source package. */
  name: string;
  /** The first affected version (default '0': every version before `fixed`). */
  introduced?: string;
  /** The first fixed version; absent means not fixed yet. */
  fixed?: string;
  /** A CVSS v3 vector for `severity[]`. */
  cvss?: string;
  /** A rating word for `database_specific.severity` (Critical, Important, Moderate, Low...). */
  rating?: string;
  summary?: string;
  aliases?: string[];
  modified?: string;
}

export function osvAdvisory(input: AdvisoryInput): Record<string, unknown> {
  const events: Array<Record<string, string>> = [{ introduced: input.introduced ?? '0' }];
  if (input.fixed) events.push({ fixed: input.fixed });
  return {
    schema_version: '1.6.0',
    id: input.id,
    modified: input.modified ?? '2025-01-01T00:00:00Z',
    published: '2025-01-01T00:00:00Z',
    aliases: input.aliases ?? [],
    summary: input.summary ?? `test advisory ${input.id} for ${input.name}`,
    ...(input.cvss ? { severity: [{ type: 'CVSS_V3', score: input.cvss }] } : {}),
    affected: [{ package: { ecosystem: input.ecosystem, name: input.name }, ranges: [{ type: 'ECOSYSTEM', events }] }],
    references: [{ type: 'ADVISORY', url: `https://example.org/advisories/${input.id}` }],
    ...(input.rating ? { database_specific: { severity: input.rating } } : {}),
  };
}

/** Writes each advisory as `<id>.json` in `dir` (a directory REPOD_ADVISORIES can name). */
export async function writeAdvisories(dir: string, advisories: AdvisoryInput[]): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (const input of advisories) {
    const path = join(dir, `${input.id}.json`);
    await writeFile(path, `${JSON.stringify(osvAdvisory(input), null, 2)}\n`);
    paths.push(path);
  }
  return paths;
}
