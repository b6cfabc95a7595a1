import type { RpmPackage } from '../../formats/rpm/model.ts';
import { escapeAttr } from '../xml.ts';

/** The `<version epoch ver rel/>` element shared by primary, filelists and other (two-space indent). */
export function renderVersion(pkg: RpmPackage): string {
  return '  <version epoch="' + escapeAttr(pkg.epoch || '0') + '" ver="' + escapeAttr(pkg.version) + '" rel="' + escapeAttr(pkg.release) + '"/>\n';
}
