import type { Capabilities } from '../capabilities.ts';
import type { Distributions } from '../config/distributions.ts';
import type { EventSink, RepodEvent } from '../security/events.ts';
import { type ExportReport, exportDistribution } from './export-distribution.ts';
import type { ExportCore } from './export-plan.ts';
import type { ExportTargetFactory } from './export-target.ts';

/**
 * Koji's tag2distrepo: a distribution whose configuration has `export` (config/export-binding.ts)
 * is exported again, as `repod export` would, after each change that makes a new current
 * revision: a publish (upload, build, removal, review decision, mirror sync), a promotion into it,
 * a rollback. It listens to repod's events beside the webhooks.
 *
 * One export at a time per distribution; changes that land while one runs cause exactly one more
 * run after it (each run exports the revision current when it starts, so the last one catches
 * every change before it). A failed export is logged and retried at the next change: it never
 * fails, delays or undoes the publish that caused it.
 */
const TRIGGERS = new Set<RepodEvent['type']>(['published', 'promoted', 'rolled_back']);

interface DistState {
  running: Promise<void>;
  again: boolean;
}

export interface AutoExportOptions {
  /** Opens a distribution's target; absent where the runtime has none (then bindings are logged and ignored). */
  targets?: ExportTargetFactory;
  /** Called after each run (tests, metrics). */
  onRun?: (dist: string, outcome: { report?: ExportReport; error?: unknown }) => void;
}

export class AutoExport implements EventSink {
  private readonly states = new Map<string, DistState>();
  private warnedNoTargets = false;

  constructor(
    private readonly caps: Pick<Capabilities, 'log'>,
    private readonly distributions: Distributions,
    /** The services an export reads through; a function because the core is built after its event sinks. */
    private readonly services: () => ExportCore,
    private readonly options: AutoExportOptions = {},
  ) {}

  emit(event: RepodEvent): void {
    if (!TRIGGERS.has(event.type) || !event.distribution) return;
    const dist = this.distributions.get(event.distribution);
    if (!dist?.export) return;
    if (!this.options.targets) {
      if (!this.warnedNoTargets) this.caps.log('export skipped: this runtime cannot write export targets', { dist: dist.name, to: dist.export.to });
      this.warnedNoTargets = true;
      return;
    }
    this.schedule(dist.name);
  }

  /** Resolves when no export is running or due (tests; a clean shutdown). */
  async idle(): Promise<void> {
    for (;;) {
      const running = [...this.states.values()].map((s) => s.running);
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  private schedule(name: string): void {
    const state = this.states.get(name);
    if (state) {
      state.again = true;
      return;
    }
    const next: DistState = { again: false, running: Promise.resolve() };
    next.running = (async () => {
      try {
        do {
          next.again = false;
          await this.runOnce(name);
        } while (next.again);
      } finally {
        this.states.delete(name);
      }
    })();
    this.states.set(name, next);
  }

  private async runOnce(name: string): Promise<void> {
    const binding = this.distributions.get(name)?.export;
    if (!binding || !this.options.targets) return;
    const started = Date.now();
    try {
      const target = await this.options.targets(binding.to, { publicRead: binding.public_read, s3Endpoint: binding.s3_endpoint, s3Region: binding.s3_region });
      const report = await exportDistribution(this.services(), target, { dist: name });
      this.caps.log('exported', {
        dist: name,
        to: report.target,
        revision: report.revision.number,
        latest: report.latest.to,
        packagesCopied: report.packages.copied,
        filesWritten: report.files.written,
        ms: Date.now() - started,
      });
      this.options.onRun?.(name, { report });
    } catch (error) {
      // Kept for the next change to retry: the published revision stands whatever happens here.
      this.caps.log('export failed', { dist: name, to: binding.to, error: (error as Error)?.message ?? String(error), ms: Date.now() - started });
      this.options.onRun?.(name, { error });
    }
  }
}

/** Every event to each sink in turn; one sink that throws does not keep it from the others. */
export function fanOutEvents(...sinks: EventSink[]): EventSink {
  return {
    emit(event) {
      for (const sink of sinks) {
        try {
          sink.emit(event);
        } catch {
          // Emitting never fails the change that caused the event (security/events.ts).
        }
      }
    },
  };
}
