import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { processAlive } from '../oci/stale.js';

/** `writeFileAtomic`'s temp names: `<target>.<pid>.<8 hex>.tmp`. */
const ATOMIC_TEMP = /^.+\.(\d+)\.[0-9a-f]{8}\.tmp$/;
/** Folders whose leftovers this process has already looked for (once each is enough). */
const swept = new Set<string>();

/** Writes a file so that readers see the old or the new content, never a torn one (write + rename). */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  if (!swept.has(dir)) {
    swept.add(dir);
    await removeOrphanedTemps(dir, (name) => pidOf(ATOMIC_TEMP, name));
  }
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** The writer's pid that `pattern`'s first group captures from a temp file's name. */
export function pidOf(pattern: RegExp, name: string): number | undefined {
  const pid = Number(pattern.exec(name)?.[1]);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Removes the temp files that killed writers left in `dir`: names `writerOf` recognises (returning the pid
 * written into them) whose process is gone. A live writer's file, this process's own, and anything not
 * recognised stay. Tidying only: a folder that cannot be read or a file that cannot be removed is skipped.
 */
export async function removeOrphanedTemps(
  dir: string,
  writerOf: (name: string) => number | undefined,
): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const pid = writerOf(name);
    if (pid === undefined || pid === process.pid || processAlive(pid)) continue;
    await rm(join(dir, name), { force: true }).then(
      () => removed.push(name),
      () => undefined,
    );
  }
  return removed;
}
