/** Where the vulnerability database is when no `--db` or `db` option names it. Cheap to import. */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultDbDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (env.VNFPIPE_DB_DIR) return env.VNFPIPE_DB_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'vnfpipe', 'osv');
}

/**
 * The file every import rewrites last (`store.ts`): its content stands for the database's. A shard edited
 * by hand, without an import, is not seen by the step cache.
 */
export const DB_STAMP_FILE = 'meta.json';
