/**
 * RPM packages from `rpmdb.sqlite`: each row of the `Packages` table is an RPM header blob (index entries
 * of tag/type/offset/count, then a data store), from which name, epoch, version, release, arch, source rpm
 * and license are read.
 */
import { VnfpipeError } from '../../errors.js';
import type { OsRelease, Package } from '../model.js';
import { purl } from '../purl.js';
import { sqliteTableRows } from './sqlite.js';

export const RPMDB_SQLITE_PATHS = ['var/lib/rpm/rpmdb.sqlite', 'usr/lib/sysimage/rpm/rpmdb.sqlite'];
/** Berkeley DB and ndb formats, not read yet. */
export const RPMDB_OTHER_PATHS = [
  'var/lib/rpm/Packages',
  'var/lib/rpm/Packages.db',
  'usr/lib/sysimage/rpm/Packages.db',
];

const TAG = {
  name: 1000,
  version: 1001,
  release: 1002,
  epoch: 1003,
  license: 1014,
  arch: 1022,
  sourcerpm: 1044,
} as const;
const TYPE_INT32 = 4;
const TYPE_STRING = 6;
const TYPE_STRING_ARRAY = 8;
const TYPE_I18NSTRING = 9;

export interface RpmEntry {
  name: string;
  epoch: number | undefined;
  version: string;
  release: string;
  arch: string;
  sourceRpm: string | undefined;
  license: string | undefined;
}

/** Parses one header blob as rpmdb stores it (no lead, no header magic). */
export function parseRpmHeader(blob: Buffer, where: string): RpmEntry {
  const bad = (message: string) => new VnfpipeError('SCAN_DATA', `invalid RPM header: ${message}`, { where });
  if (blob.length < 8) throw bad('too short');
  const count = blob.readUInt32BE(0);
  const dataLength = blob.readUInt32BE(4);
  const storeStart = 8 + count * 16;
  if (count > 100_000 || storeStart + dataLength > blob.length)
    throw bad(`${count} entries and ${dataLength} data bytes do not fit in ${blob.length}`);
  const values = new Map<number, string | number>();
  for (let i = 0; i < count; i++) {
    const at = 8 + i * 16;
    const tag = blob.readUInt32BE(at);
    const type = blob.readUInt32BE(at + 4);
    const offset = blob.readUInt32BE(at + 8);
    if (tag < TAG.name || tag > TAG.sourcerpm) continue;
    if (offset >= dataLength) throw bad(`tag ${tag} points outside the data store`);
    const start = storeStart + offset;
    if (type === TYPE_STRING || type === TYPE_I18NSTRING || type === TYPE_STRING_ARRAY) {
      const end = blob.indexOf(0, start);
      if (end === -1 || end > storeStart + dataLength) throw bad(`tag ${tag} string is not terminated`);
      values.set(tag, blob.toString('utf8', start, end));
    } else if (type === TYPE_INT32) {
      if (start + 4 > storeStart + dataLength) throw bad(`tag ${tag} runs past the data store`);
      values.set(tag, blob.readUInt32BE(start));
    }
  }
  const str = (tag: number) =>
    typeof values.get(tag) === 'string' ? (values.get(tag) as string) : undefined;
  const name = str(TAG.name);
  const version = str(TAG.version);
  const release = str(TAG.release);
  if (!name || !version || release === undefined) throw bad('no name, version or release');
  const epoch = values.get(TAG.epoch);
  return {
    name,
    epoch: typeof epoch === 'number' ? epoch : undefined,
    version,
    release,
    arch: str(TAG.arch) ?? '',
    sourceRpm: str(TAG.sourcerpm),
    license: str(TAG.license),
  };
}

export function parseRpmDb(data: Buffer, where: string): RpmEntry[] {
  const out: RpmEntry[] = [];
  for (const row of sqliteTableRows(data, 'Packages', where)) {
    const blob = row[1];
    if (!Buffer.isBuffer(blob))
      throw new VnfpipeError('SCAN_DATA', 'rpmdb Packages row without a header blob', { where });
    // The pseudo-package carrying imported GPG keys is not software.
    const entry = parseRpmHeader(blob, where);
    if (entry.name !== 'gpg-pubkey') out.push(entry);
  }
  return out;
}

/** `name-version-release.src.rpm` → its name and version-release. */
function sourceOf(e: RpmEntry): { name: string; version: string } | undefined {
  const m = e.sourceRpm ? /^(.+)-([^-]+)-([^-]+)\.(?:no)?src\.rpm$/.exec(e.sourceRpm) : null;
  if (!m) return undefined;
  return { name: m[1]!, version: `${e.epoch !== undefined ? `${e.epoch}:` : ''}${m[2]}-${m[3]}` };
}

export function rpmPackage(
  e: RpmEntry,
  os: OsRelease | undefined,
  foundIn: string,
  layer: number,
  layerDigest: string,
): Package {
  const version = `${e.epoch !== undefined ? `${e.epoch}:` : ''}${e.version}-${e.release}`;
  const distro = os?.versionId ? `${os.id}-${os.versionId}` : undefined;
  const pkg: Package = {
    type: 'rpm',
    name: e.name,
    version,
    purl: purl('rpm', os?.id ?? 'redhat', e.name, `${e.version}-${e.release}`, {
      arch: e.arch || undefined,
      epoch: e.epoch !== undefined ? String(e.epoch) : undefined,
      distro,
    }),
    foundIn,
    layer,
    layerDigest,
  };
  if (e.arch) pkg.arch = e.arch;
  const source = sourceOf(e);
  if (source) pkg.source = source;
  if (e.license) pkg.licenses = [e.license];
  return pkg;
}
