/**
 * Which upstream packages a mirror distribution keeps: name globs, architectures, and the newest
 * N versions of each name and architecture. Names and architectures are decided as the index
 * streams by; versions only once every package is known.
 */
import type { MirrorFilters } from '../config/mirror-binding.ts';

/** A shell-style glob (`*` any run, `?` one character) as an anchored regular expression. */
export function globPattern(glob: string): RegExp {
  let source = '';
  for (const ch of glob) {
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

export class MirrorSelection<T> {
  readonly #include: RegExp[] | null;
  readonly #exclude: RegExp[];
  readonly #architectures: Set<string> | null;
  readonly #keep: number | undefined;
  readonly #compare: (a: T, b: T) => number;
  /** name + arch → candidates, in arrival order. */
  readonly #groups = new Map<string, T[]>();
  #count = 0;

  /**
   * `accepts`: the architectures the distribution takes; `compare`: orders two candidates by
   * version (rpm's EVR or dpkg's rules), for keeping the newest.
   */
  constructor(filters: MirrorFilters | undefined, accepts: (arch: string) => boolean, compare: (a: T, b: T) => number) {
    this.#include = filters?.include?.length ? filters.include.map(globPattern) : null;
    this.#exclude = (filters?.exclude ?? []).map(globPattern);
    const only = filters?.architectures?.length ? new Set(filters.architectures) : null;
    this.#architectures = only;
    this.#keep = filters?.keep_latest;
    this.#compare = compare;
    this.accepts = (arch) => accepts(arch) && (only === null || only.has(arch));
  }

  readonly accepts: (arch: string) => boolean;

  /** Whether a package of this name and architecture passes the filters (before versions). */
  wants(name: string, arch: string): boolean {
    if (!this.accepts(arch)) return false;
    if (this.#include && !this.#include.some((r) => r.test(name))) return false;
    return !this.#exclude.some((r) => r.test(name));
  }

  /** Offers a package; answers whether it was kept as a candidate. */
  add(name: string, arch: string, item: T): boolean {
    if (!this.wants(name, arch)) return false;
    const key = `${name}\0${arch}`;
    let group = this.#groups.get(key);
    if (!group) this.#groups.set(key, (group = []));
    group.push(item);
    this.#count++;
    // Bounded as it goes: a group never holds more than twice what it keeps.
    if (this.#keep !== undefined && group.length >= 2 * this.#keep + 8) this.#trim(group);
    return true;
  }

  get size(): number {
    return this.#count;
  }

  /** The candidates kept, newest first within each name and architecture. */
  *selected(): Generator<T> {
    for (const group of this.#groups.values()) {
      if (this.#keep !== undefined) this.#trim(group);
      yield* group;
    }
  }

  #trim(group: T[]): void {
    group.sort((a, b) => this.#compare(b, a));
    if (this.#keep !== undefined && group.length > this.#keep) {
      this.#count -= group.length - this.#keep;
      group.length = this.#keep;
    }
  }
}
