/** Builds vulnerability databases from the committed OSV fixtures, once per test file. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importOsv } from '../../../src/scan/db/store.ts';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

export async function fixtureDb(...sets: Array<'debian' | 'lang'>): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-osvdb-'));
  await importOsv(
    dir,
    sets.map((s) => join(FIXTURES, 'osv', s)),
  );
  return dir;
}
