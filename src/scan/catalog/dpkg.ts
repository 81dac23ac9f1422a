/**
 * Debian packages from dpkg's database: `var/lib/dpkg/status` and distroless `var/lib/dpkg/status.d/*`
 * (one file per package, no Status field). Each package keeps its source package and source version, which
 * is what Debian advisories are written against.
 */
import { VnfpipeError } from '../../errors.js';
import type { OsRelease, Package } from '../model.js';
import { purl } from '../purl.js';
import { type Paragraph, parseParagraphs } from './control.js';

export const DPKG_STATUS = 'var/lib/dpkg/status';
export const DPKG_STATUS_D = 'var/lib/dpkg/status.d/';

/** Package states whose files are on disk (`config-files` and `not-installed` leave only conffiles). */
const PRESENT_STATES = new Set([
  'installed',
  'half-configured',
  'unpacked',
  'half-installed',
  'triggers-awaited',
  'triggers-pending',
]);

export interface DpkgEntry {
  name: string;
  version: string;
  arch: string;
  sourceName: string;
  sourceVersion: string;
}

function entryOf(p: Paragraph, where: string): DpkgEntry | undefined {
  const name = p.get('package');
  const version = p.get('version');
  if (!name || !version) {
    throw new VnfpipeError('SCAN_DATA', `dpkg entry without Package or Version (${name ?? '?'})`, {
      where,
    });
  }
  const status = p.get('status');
  if (status !== undefined) {
    const state = status.split(/\s+/)[2];
    if (!state || !PRESENT_STATES.has(state)) return undefined;
  }
  let sourceName = name;
  let sourceVersion = version;
  const source = p.get('source');
  if (source) {
    const m = /^(\S+)(?:\s+\(([^)]+)\))?$/.exec(source.trim());
    if (!m)
      throw new VnfpipeError('SCAN_DATA', `malformed Source field ${JSON.stringify(source)} of ${name}`, {
        where,
      });
    sourceName = m[1]!;
    if (m[2]) sourceVersion = m[2].trim();
  }
  return { name, version, arch: p.get('architecture') ?? '', sourceName, sourceVersion };
}

/** Parses one status file, or one distroless status.d file (whose entries have no Status field). */
export function parseDpkgStatus(text: string, where: string): DpkgEntry[] {
  const out: DpkgEntry[] = [];
  for (const p of parseParagraphs(text, where)) {
    const entry = entryOf(p, where);
    if (entry) out.push(entry);
  }
  return out;
}

export function dpkgKey(e: DpkgEntry): string {
  return `${e.name}:${e.arch}=${e.version}`;
}

export function dpkgPackage(
  e: DpkgEntry,
  os: OsRelease | undefined,
  foundIn: string,
  layer: number,
  layerDigest: string,
): Package {
  const namespace = os?.id === 'ubuntu' ? 'ubuntu' : 'debian';
  const distro = os?.versionId ? `${os.id}-${os.versionId}` : undefined;
  const pkg: Package = {
    type: 'deb',
    name: e.name,
    version: e.version,
    purl: purl('deb', namespace, e.name, e.version, { arch: e.arch || undefined, distro }),
    foundIn,
    layer,
    layerDigest,
  };
  if (e.arch) pkg.arch = e.arch;
  pkg.source = { name: e.sourceName, version: e.sourceVersion };
  return pkg;
}
