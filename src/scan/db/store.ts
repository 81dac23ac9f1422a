/**
 * The local vulnerability store: OSV records split by ecosystem and sharded by package name, so a scan
 * reads only the shards of the packages it found (`<db>/v1/<ecosystem>/<shard>.json`), plus `meta.json`.
 * Files are written to temp names and renamed, and `meta.json` last, so an interrupted import leaves the
 * previous database usable.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { VnfpipeError } from '../../errors.js';
import { parseOsvRecord, type StoredAdvisory } from './osv.js';

export const DB_FORMAT = 'vnfpipe-osv';
export const DB_VERSION = 1;
const SHARDS = 64;

export interface DbMeta {
  format: typeof DB_FORMAT;
  version: number;
  /** When the newest import finished (ISO time). */
  updatedAt: string;
  /** Advisories per ecosystem (`Debian:12` → 1234). */
  ecosystems: Record<string, number>;
  records: number;
  sources: string[];
}

type Shard = Record<string, StoredAdvisory[]>;

export function shardOf(name: string): number {
  // FNV-1a: stable across runs and platforms.
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % SHARDS;
}

function ecoDir(dir: string, ecosystem: string): string {
  return join(dir, `v${DB_VERSION}`, encodeURIComponent(ecosystem));
}

async function writeAtomic(path: string, data: string): Promise<void> {
  const temp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeFile(temp, data);
  await rename(temp, path);
}

function dbError(message: string, where: string, hint?: string): VnfpipeError {
  return new VnfpipeError('USAGE', message, { where, hint });
}

export async function readDbMeta(dir: string): Promise<DbMeta | undefined> {
  const file = join(resolve(dir), 'meta.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  let meta: DbMeta;
  try {
    meta = JSON.parse(text) as DbMeta;
  } catch (error) {
    throw dbError(
      `vulnerability database metadata is corrupt: ${(error as Error).message}`,
      file,
      'import again with vnfpipe db import',
    );
  }
  if (meta.format !== DB_FORMAT || meta.version !== DB_VERSION) {
    throw dbError(
      `not a vnfpipe vulnerability database (format ${meta.format} v${meta.version})`,
      file,
      'import again with vnfpipe db import',
    );
  }
  return meta;
}

export class VulnDb {
  private readonly shards = new Map<string, Promise<Shard>>();

  private constructor(
    readonly dir: string,
    readonly meta: DbMeta,
  ) {}

  static async open(dir: string): Promise<VulnDb> {
    const abs = resolve(dir);
    const meta = await readDbMeta(abs);
    if (!meta) {
      throw dbError(
        'no vulnerability database here',
        abs,
        'create one with `vnfpipe db import <osv-dir-or-zip> --db <dir>`',
      );
    }
    return new VulnDb(abs, meta);
  }

  has(ecosystem: string): boolean {
    return (this.meta.ecosystems[ecosystem] ?? 0) > 0;
  }

  /** The advisories recorded for a package of an ecosystem. */
  async lookup(ecosystem: string, name: string): Promise<StoredAdvisory[]> {
    if (!this.has(ecosystem)) return [];
    const file = join(ecoDir(this.dir, ecosystem), `${shardOf(name)}.json`);
    let shard = this.shards.get(file);
    if (!shard) {
      shard = readShard(file);
      this.shards.set(file, shard);
    }
    return (await shard)[name] ?? [];
  }
}

async function readShard(file: string): Promise<Shard> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new VnfpipeError('IO', `cannot read ${file}: ${(error as Error).message}`, { where: file });
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Shard;
  } catch (error) {
    throw dbError(
      `vulnerability database shard is corrupt: ${(error as Error).message}`,
      file,
      'import again with vnfpipe db import',
    );
  }
}

export interface ImportResult {
  records: number;
  skipped: { withdrawn: number };
  ecosystems: Record<string, number>;
  meta: DbMeta;
}

/** Every OSV JSON document under a path: a directory (recursively), a `.zip` export, or one `.json` file. */
async function* osvDocuments(path: string): AsyncGenerator<[string, Buffer]> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch {
    throw dbError('OSV source not found', path, 'give a directory of OSV .json files or an OSV all.zip');
  }
  if (info.isDirectory()) {
    const entries = await readdir(path, { withFileTypes: true, recursive: true });
    entries.sort((a, b) => join(a.parentPath, a.name).localeCompare(join(b.parentPath, b.name)));
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const file = join(entry.parentPath, entry.name);
      if (entry.name.endsWith('.json')) yield [file, await readFile(file)];
      else if (entry.name.endsWith('.zip')) yield* osvDocuments(file);
    }
    return;
  }
  const data = await readFile(path);
  if (path.endsWith('.zip') || data.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'))) {
    const { readZip } = await import('./zip.js');
    for (const [name, bytes] of readZip(data, path))
      if (name.endsWith('.json')) yield [`${path}!${name}`, bytes];
    return;
  }
  yield [path, data];
}

/** Imports OSV records into the database at `dir` (created when missing); a re-imported id replaces its entries. */
export async function importOsv(dir: string, sources: string[]): Promise<ImportResult> {
  const abs = resolve(dir);
  const previous = await readDbMeta(abs);
  // ecosystem → shard → package → advisories (new ones only).
  const incoming = new Map<string, Map<number, Shard>>();
  const counts: Record<string, number> = {};
  let records = 0;
  let withdrawn = 0;
  for (const source of sources) {
    for await (const [where, bytes] of osvDocuments(source)) {
      let json: unknown;
      try {
        json = JSON.parse(bytes.toString('utf8'));
      } catch (error) {
        throw new VnfpipeError('SCAN_DATA', `malformed JSON: ${(error as Error).message}`, { where });
      }
      for (const item of Array.isArray(json) ? json : [json]) {
        const record = parseOsvRecord(item, where);
        if (record.withdrawn) {
          withdrawn++;
          continue;
        }
        records++;
        for (const { ecosystem, name, advisory } of record.affected) {
          let shards = incoming.get(ecosystem);
          if (!shards) {
            shards = new Map();
            incoming.set(ecosystem, shards);
          }
          const n = shardOf(name);
          let shard = shards.get(n);
          if (!shard) {
            shard = {};
            shards.set(n, shard);
          }
          shard[name] ??= [];
          const list = shard[name];
          const same = list.findIndex((a) => a.id === advisory.id);
          if (same === -1) list.push(advisory);
          else list[same] = { ...advisory, ranges: [...list[same]!.ranges, ...advisory.ranges] };
        }
      }
    }
  }
  const ecosystems: Record<string, number> = { ...(previous?.ecosystems ?? {}) };
  for (const [ecosystem, shards] of incoming) {
    const folder = ecoDir(abs, ecosystem);
    await mkdir(folder, { recursive: true });
    let total = 0;
    for (let n = 0; n < SHARDS; n++) {
      const file = join(folder, `${n}.json`);
      const fresh = shards.get(n);
      const existing = await readShard(file);
      if (fresh) {
        for (const [name, list] of Object.entries(fresh)) {
          const ids = new Set(list.map((a) => a.id));
          existing[name] = [...(existing[name] ?? []).filter((a) => !ids.has(a.id)), ...list];
        }
        await writeAtomic(file, JSON.stringify(existing));
      }
      for (const list of Object.values(existing)) total += list.length;
    }
    ecosystems[ecosystem] = total;
    counts[ecosystem] = [...shards.values()].reduce(
      (sum, s) => sum + Object.values(s).reduce((a, l) => a + l.length, 0),
      0,
    );
  }
  const meta: DbMeta = {
    format: DB_FORMAT,
    version: DB_VERSION,
    updatedAt: new Date().toISOString(),
    ecosystems,
    records: (previous?.records ?? 0) + records,
    sources: [...new Set([...(previous?.sources ?? []), ...sources.map((s) => resolve(s))])],
  };
  await mkdir(abs, { recursive: true });
  await writeAtomic(join(abs, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
  return { records, skipped: { withdrawn }, ecosystems: counts, meta };
}
