/**
 * What killed writers leave around a layout: temp files in `<layout>/.tmp` (named `<kind>-<pid>-<hex>`) and
 * pull staging folders beside it (`.<layout name>.vnfpipe-pull-[<pid>-]<hex>`). An entry is stale when the
 * process named in it is gone, or, when no process is named, when nothing in it changed for an hour: a
 * live concurrent writer's files survive either way.
 */
import { lstat, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Entries naming no process are taken as abandoned after this long without a change. */
export const STALE_AGE_MS = 60 * 60 * 1000;

export interface StaleEntry {
  path: string;
  /** Bytes it holds (files directly inside a staging folder included). */
  bytes: number;
  /** The writer named in it, when there is one. */
  pid?: number;
}

/** True when a process with this id exists (signal 0 checks without signalling; EPERM means it exists). */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The writer's pid in a temp name `<kind>-<pid>-<hex>` or a staging suffix `<pid>-<hex>`. */
function pidIn(name: string): number | undefined {
  const match = /(?:^|-)(\d+)-[0-9a-f]+$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** Size and latest change of a file, or of a folder and the entries directly inside it. */
async function measure(path: string): Promise<{ bytes: number; changedMs: number } | undefined> {
  const info = await lstat(path).catch(() => undefined);
  if (!info) return undefined;
  let bytes = info.isFile() ? info.size : 0;
  // mtime only: writing changes it, and it can be set back (ctime cannot), which tests rely on.
  let changedMs = info.mtimeMs;
  if (info.isDirectory()) {
    for (const name of await readdir(path).catch(() => [] as string[])) {
      const child = await lstat(join(path, name)).catch(() => undefined);
      if (!child) continue;
      if (child.isFile()) bytes += child.size;
      changedMs = Math.max(changedMs, child.mtimeMs);
    }
  }
  return { bytes, changedMs };
}

async function judge(path: string, pid: number | undefined, now: number): Promise<StaleEntry | undefined> {
  const size = await measure(path);
  if (!size) return undefined;
  const stale =
    pid !== undefined ? pid !== process.pid && !processAlive(pid) : now - size.changedMs > STALE_AGE_MS;
  if (!stale) return undefined;
  return pid === undefined ? { path, bytes: size.bytes } : { path, bytes: size.bytes, pid };
}

/** Stale temp files of the layout and stale pull staging folders beside it. */
export async function findStale(layoutDir: string, tmpName: string, now = Date.now()): Promise<StaleEntry[]> {
  const found: StaleEntry[] = [];
  const tmp = join(layoutDir, tmpName);
  for (const name of (await readdir(tmp).catch(() => [] as string[])).sort()) {
    const entry = await judge(join(tmp, name), pidIn(name), now);
    if (entry) found.push(entry);
  }
  const prefix = `.${basename(layoutDir)}.vnfpipe-pull-`;
  const parent = dirname(layoutDir);
  for (const name of (await readdir(parent).catch(() => [] as string[])).sort()) {
    if (!name.startsWith(prefix)) continue;
    const entry = await judge(join(parent, name), pidIn(name.slice(prefix.length)), now);
    if (entry) found.push(entry);
  }
  return found;
}
