/**
 * Changelog entries, newest first as the header stores them, with createrepo_c's one header-level
 * touch: trailing spaces are cut from the author (never its first character).
 *
 * What createrepo_c does next depends on how many entries a repository keeps, so it belongs to
 * the renderers; `createrepoChangelogs` reproduces it for them.
 */
import { InvalidPackageError } from '../../errors.ts';
import type { RpmHeader } from './header.ts';
import type { RpmChangelog } from './model.ts';
import { Tag } from './tags.ts';
import { binaryString, decodeBinaryString } from './text.ts';

export function readChangelogs(h: RpmHeader): RpmChangelog[] {
  const times = h.numbers(Tag.CHANGELOGTIME);
  const names = h.strings(Tag.CHANGELOGNAME);
  const texts = h.strings(Tag.CHANGELOGTEXT);
  // createrepo_c reads changelogs only when all three tags are there.
  if (!times || !names || !texts) return [];
  if (names.length !== times.length || texts.length !== times.length) {
    throw new InvalidPackageError(`rpm header: changelog has ${times.length} CHANGELOGTIME, ${names.length} CHANGELOGNAME and ${texts.length} CHANGELOGTEXT entries`);
  }
  return times.map((date, i) => ({
    author: decodeBinaryString(trimAuthor(binaryString(names[i])), `changelog[${i}].author`),
    date,
    text: decodeBinaryString(binaryString(texts[i]), `changelog[${i}].text`),
  }));
}

function trimAuthor(author: string): string {
  let end = author.length;
  while (end > 1 && author.charCodeAt(end - 1) === 0x20) end--;
  return author.slice(0, end);
}

/**
 * The changelog list as createrepo_c writes it in other.xml and other.sqlite for a given
 * --changelog-limit (-1: all): the newest `limit` entries, oldest first, where entries sharing a
 * timestamp are spread out: when an entry has the same time as the previous one, createrepo_c
 * walks back through the newer entries while their dates count up from it one second per step,
 * adding a second to each (parsehdr.c, "Ugly but works!"). The walk only sees the kept entries,
 * which is why this cannot happen in the parser.
 *
 * The walk is quadratic in a run of equal dates; here the runs it would walk ("staircases" of
 * dates rising by one per step towards newer entries) are kept as segments, so a hostile header
 * with a million equal dates costs linear time.
 */
export function createrepoChangelogs(changelogs: readonly RpmChangelog[], limit: number): RpmChangelog[] {
  const kept = limit < 0 ? changelogs : changelogs.slice(0, limit);
  // Segment: entries first..last (header order) whose dates are top + (last - i).
  const stack: { first: number; last: number; top: number }[] = [];
  const merge = () => {
    while (stack.length >= 2) {
      const s = stack[stack.length - 1];
      const p = stack[stack.length - 2];
      if (p.top !== s.top + (s.last - s.first) + 1) return;
      stack.splice(stack.length - 2, 2, { first: p.first, last: s.last, top: s.top });
    }
  };
  let lastTime = 0;
  for (let k = 0; k < kept.length; k++) {
    const date = kept[k].date;
    if (date === lastTime) {
      const s = stack[stack.length - 1];
      // createrepo_c holds the running time in an int: past 2^31 - 1 nothing ever matches.
      if (s && s.top === date && date <= 0x7fffffff) {
        s.top++;
        merge();
      }
    } else {
      lastTime = date;
    }
    stack.push({ first: k, last: k, top: date });
    merge();
  }
  const dates = new Array<number>(kept.length);
  for (const s of stack) for (let i = s.first; i <= s.last; i++) dates[i] = s.top + (s.last - i);
  const out: RpmChangelog[] = [];
  for (let i = kept.length - 1; i >= 0; i--) out.push({ ...kept[i], date: dates[i] });
  return out;
}
