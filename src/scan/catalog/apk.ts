/** Alpine packages from apk's database `lib/apk/db/installed` (`P:` name, `V:` version, `o:` origin). */
import { VnfpipeError } from '../../errors.js';
import type { OsRelease, Package } from '../model.js';
import { purl } from '../purl.js';

export const APK_INSTALLED = 'lib/apk/db/installed';

export interface ApkEntry {
  name: string;
  version: string;
  arch: string;
  origin: string;
  license?: string;
}

export function parseApkInstalled(text: string, where: string): ApkEntry[] {
  const out: ApkEntry[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of block.split('\n')) {
      if (line.length >= 2 && line[1] === ':' && !fields.has(line[0]!)) fields.set(line[0]!, line.slice(2));
    }
    if (fields.size === 0) continue;
    const name = fields.get('P');
    const version = fields.get('V');
    if (!name || !version) {
      throw new VnfpipeError('SCAN_DATA', `apk entry without P: or V: (${name ?? '?'})`, { where });
    }
    const entry: ApkEntry = { name, version, arch: fields.get('A') ?? '', origin: fields.get('o') ?? name };
    const license = fields.get('L');
    if (license) entry.license = license;
    out.push(entry);
  }
  return out;
}

export function apkPackage(
  e: ApkEntry,
  os: OsRelease | undefined,
  foundIn: string,
  layer: number,
  layerDigest: string,
): Package {
  const distro = os?.versionId ? `${os.id}-${os.versionId}` : undefined;
  const pkg: Package = {
    type: 'apk',
    name: e.name,
    version: e.version,
    purl: purl('apk', os?.id ?? 'alpine', e.name, e.version, { arch: e.arch || undefined, distro }),
    source: { name: e.origin, version: e.version },
    foundIn,
    layer,
    layerDigest,
  };
  if (e.arch) pkg.arch = e.arch;
  if (e.license) pkg.licenses = [e.license];
  return pkg;
}
