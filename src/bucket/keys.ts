/**
 * Index entry keys: a package's identity within a distribution, its fields joined by NUL. NUL sorts
 * before every character a name can hold, so all versions of one name are adjacent in a
 * revision's sorted chunks and a prefix (`name` + NUL) finds exactly them, never `name-devel`.
 * RPM: name, arch, version, release (no epoch: two epochs of one NVRA would share a file name).
 * APT: component, name, arch, version.
 */
export const KEY_SEPARATOR = '\u0000';

export function joinKey(...fields: string[]): string {
  return fields.join(KEY_SEPARATOR);
}

export function splitKey(key: string): string[] {
  return key.split(KEY_SEPARATOR);
}

/** The prefix that every key of the named package shares (APT: within one component). */
export function namePrefix(kind: 'rpm' | 'apt', name: string, component = ''): string {
  return kind === 'rpm' ? joinKey(name, '') : joinKey(component, name, '');
}

/** A key as people read it (error messages). */
export function readableKey(key: string): string {
  return key.replaceAll(KEY_SEPARATOR, ' ');
}
