/** Fixtures and the real `yanglint` for the SOL006 tests. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from '../support/project.js';

export const SOL006 = resolve(REPO_ROOT, 'test/fixtures/sol006');
export const VFW_JSON = join(SOL006, 'vfw-vnfd.json');
export const VFW_YAML = join(SOL006, 'vfw-vnfd.yaml');

/** Validates RFC 7951 JSON data against the SOL006 v4.3.1 modules kept as fixtures. */
export function yanglint(file: string): { status: number | null; errors: string } {
  const run = spawnSync(
    'yanglint',
    ['-p', join(SOL006, 'yang'), join(SOL006, 'yang', 'etsi-nfv-descriptors.yang'), file],
    { encoding: 'utf8' },
  );
  if (run.error) throw run.error;
  // libyang prints schema warnings about the upstream modules on every run; only errors matter.
  const errors = run.stderr
    .split('\n')
    .filter((line) => line && !line.startsWith('libyang warn'))
    .join('\n');
  return { status: run.status, errors };
}

/** The vfw VNFD as a mutable object, for malformed variants. */
// biome-ignore lint/suspicious/noExplicitAny: tests reach into arbitrary VNFD nodes to break them.
export function vfwDocument(): { 'etsi-nfv-descriptors:nfv': { vnfd: Array<Record<string, any>> } } {
  return JSON.parse(readFileSync(VFW_JSON, 'utf8'));
}

export function writeTemp(name: string, content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-vnfd-'));
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}
