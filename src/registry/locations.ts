/**
 * Where blobs were last seen on each registry: a small persistent record (registry host → blob digest →
 * repositories), so a push from a layout can mount a blob from another repository of the same registry
 * instead of sending it again. It is a cache: a missing or unreadable file starts empty, it is written
 * atomically (temporary file, then rename) after merging what is on disk, and a failed write costs only
 * mounts. It holds no credentials.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Digest } from '../oci/digest.js';

type Env = Readonly<Record<string, string | undefined>>;
type Locations = Record<string, Record<string, string[]>>;

/** Repositories remembered per blob, newest first. */
const MAX_REPOSITORIES = 4;
/** Blobs remembered per registry; the oldest go first. */
const MAX_BLOBS = 20_000;

/** `$VNFPIPE_CACHE_DIR`, else `$XDG_CACHE_HOME/vnfpipe`, else `~/.cache/vnfpipe`; the file in it. */
export function defaultLocationsFile(env: Env = process.env): string {
  const dir =
    env.VNFPIPE_CACHE_DIR ||
    (env.XDG_CACHE_HOME
      ? join(env.XDG_CACHE_HOME, 'vnfpipe')
      : join(env.HOME || homedir(), '.cache', 'vnfpipe'));
  return join(dir, 'registry-blobs.json');
}

async function readRecord(file: string): Promise<Locations> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as { version?: unknown; registries?: unknown };
    if (value?.version !== 1 || typeof value.registries !== 'object' || value.registries === null) return {};
    const out: Locations = {};
    for (const [registry, blobs] of Object.entries(value.registries as Record<string, unknown>)) {
      if (typeof blobs !== 'object' || blobs === null || registry === '__proto__') continue;
      const kept: Record<string, string[]> = {};
      for (const [digest, repos] of Object.entries(blobs as Record<string, unknown>))
        if (Array.isArray(repos)) kept[digest] = repos.filter((r): r is string => typeof r === 'string');
      out[registry] = kept;
    }
    return out;
  } catch {
    return {};
  }
}

export class BlobLocations {
  private readonly file: string;
  private record: Locations;
  private readonly added: Array<[string, string, string]> = [];

  private constructor(file: string, record: Locations) {
    this.file = file;
    this.record = record;
  }

  static async load(file: string): Promise<BlobLocations> {
    return new BlobLocations(file, await readRecord(file));
  }

  /** Repositories of `registry` known to hold `digest`, newest first. */
  repositories(registry: string, digest: Digest): string[] {
    return [...(this.record[registry]?.[digest] ?? [])];
  }

  /** Remembers that `registry/repository` holds the blob (saved by `save`). */
  add(registry: string, digest: Digest, repository: string): void {
    this.added.push([registry, digest, repository]);
    this.apply(this.record, registry, digest, repository);
  }

  private apply(record: Locations, registry: string, digest: string, repository: string): void {
    const blobs = record[registry] ?? {};
    record[registry] = blobs;
    const repos = [repository, ...(blobs[digest] ?? []).filter((r) => r !== repository)];
    // Re-inserted, so the object's key order stays oldest first.
    delete blobs[digest];
    blobs[digest] = repos.slice(0, MAX_REPOSITORIES);
    const keys = Object.keys(blobs);
    for (let i = 0; i < keys.length - MAX_BLOBS; i++) delete blobs[keys[i]!];
  }

  /** Merges this run's additions into the file as it is now, and replaces it atomically. */
  async save(): Promise<void> {
    if (!this.added.length) return;
    const record = await readRecord(this.file);
    for (const [registry, digest, repository] of this.added) this.apply(record, registry, digest, repository);
    await mkdir(dirname(this.file), { recursive: true });
    const temp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(temp, `${JSON.stringify({ version: 1, registries: record })}\n`, { mode: 0o600 });
      await rename(temp, this.file);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    this.record = record;
    this.added.length = 0;
  }
}
