import type { StepReport } from './pipeline.ts';

/**
 * The security gate's verdict in the two shapes Repod's clients read from an upload answer:
 * `validation` (every step, and the CVE status CI gates check) and `pipeline` (one word per check:
 * `clean`, `no_findings`, `unsigned_pass`, `satisfied` when all is well).
 */
export interface ValidationAnswer {
  passed: boolean;
  cve_status: string;
  steps: Array<Pick<StepReport, 'name' | 'passed' | 'message' | 'detail' | 'action' | 'ms'>>;
}

export interface PipelineAnswer {
  antivirus: string;
  cve_scan: string;
  gpg: string;
  dependencies: string;
}

const word = (step: StepReport | undefined, fallback: string): string => (typeof step?.detail?.status === 'string' ? step.detail.status : fallback);

export function validationAnswer(steps: StepReport[]): ValidationAnswer {
  const cve = steps.find((s) => s.name === 'cve');
  return {
    passed: steps.every((s) => s.action !== 'block' && s.action !== 'review'),
    cve_status: word(cve, 'not_scanned'),
    steps: steps.map(({ name, passed, message, detail, action, ms }) => ({ name, passed, message, action, ms, ...(detail ? { detail } : {}) })),
  };
}

export function pipelineAnswer(steps: StepReport[]): PipelineAnswer {
  const find = (name: StepReport['name']) => steps.find((s) => s.name === name);
  return {
    antivirus: word(find('antivirus'), 'not_scanned'),
    cve_scan: word(find('cve'), 'not_scanned'),
    gpg: word(find('gpg'), 'not_checked'),
    dependencies: word(find('dependencies'), 'not_checked'),
  };
}
