import type { EntryWithSegments, StreamSpec } from '../bucket/chunk.ts';
import { joinKey } from '../bucket/keys.ts';
import type { DebFileFacts } from '../bucket/package-record.ts';
import type { DebControl } from '../formats/deb/control.ts';
import { contentsLines, contentsLocation } from '../metadata/apt/contents.ts';
import { renderPackagesStanza } from '../metadata/apt/packages-stanza.ts';
import { utf8 } from '../util/bytes.ts';
import { indexComponent } from './apt-component.ts';

/**
 * How a .deb becomes an index entry of an APT distribution: its key and its segments. Packages
 * is served both plain and gzip-compressed, so the stanza is kept both ways; Contents only
 * compressed.
 */
export const APT_STREAMS: StreamSpec[] = [
  { name: 'packages', mode: 'raw' },
  { name: 'packages.gz', mode: 'gzip' },
  { name: 'contents.gz', mode: 'gzip' },
];

/** Identity within a distribution: one version of a package per architecture per component. */
export function aptKey(component: string, name: string, arch: string, version: string): string {
  return joinKey(component, name, arch, version);
}

export function aptLabel(control: DebControl): string {
  return `${control.package}_${control.version}_${control.architecture}`;
}

/**
 * `component` is the distribution component (the pool path's); a udeb's entry carries
 * `<component>/debian-installer` (apt-component.ts), in its key too, so it is indexed apart.
 */
export function aptEntry(control: DebControl, facts: DebFileFacts, files: string[], component: string, poolPath: string): EntryWithSegments {
  const entryComponent = indexComponent(component, control);
  const stanza = utf8(renderPackagesStanza(control, { filename: poolPath, size: facts.size, md5: facts.md5, sha1: facts.sha1, sha256: facts.sha256, sha512: facts.sha512 }));
  const contents = utf8(contentsLines(files, contentsLocation(control)));
  const segments = [stanza, stanza, contents];
  return {
    entry: {
      key: aptKey(entryComponent, control.package, control.architecture, control.version),
      id: facts.sha256,
      arch: control.architecture,
      file: poolPath,
      label: aptLabel(control),
      component: entryComponent,
      rawLengths: segments.map((s) => s.length),
    },
    segments,
  };
}
