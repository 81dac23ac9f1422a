/** `/etc/os-release` (or `/usr/lib/os-release`): which distribution and release the image is. */
import type { OsRelease } from '../model.js';

export const OS_RELEASE_PATHS = ['etc/os-release', 'usr/lib/os-release'];

export function parseOsRelease(text: string): OsRelease | undefined {
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let value = m[2]!;
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1).replace(/\\(["'$`\\])/g, '$1');
    values[m[1]!] = value;
  }
  if (!values.ID) return undefined;
  return {
    id: values.ID.toLowerCase(),
    versionId: values.VERSION_ID,
    versionCodename: values.VERSION_CODENAME,
    prettyName: values.PRETTY_NAME,
  };
}
