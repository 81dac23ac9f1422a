/**
 * Many tests spawn the built CLI from dist/. A test that rebuilt dist/ while others ran it made those runs
 * load half-written modules ("does not provide an export named …"), so the run checks that dist/ is the
 * same at the end as at the start and fails loudly otherwise. `npm test` builds once, before vitest.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export function distFingerprint(root: string): string | undefined {
  const dist = join(root, 'dist');
  if (!existsSync(dist)) return undefined;
  const hash = createHash('sha256');
  const entries = readdirSync(dist, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
  for (const file of entries)
    hash.update(relative(dist, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex');
}
