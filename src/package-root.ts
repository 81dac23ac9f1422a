/**
 * Where vnfpipe's own files are. The compiled code runs from per-file output (`dist/pipeline/site.js`), from
 * bundled chunks (`dist/bundle/chunks/…`) or, under test, from `src/`: each sits at a different depth, so the
 * package root is found by walking up to vnfpipe's package.json rather than by counting `..`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  // vnfpipe's own package.json is the first one up that names it.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'vnfpipe'
    )
      return dir;
    const parent = dirname(dir);
    // Not found (vnfpipe bundled into something else): assume the per-file layout, two levels down.
    if (parent === dir) return dirname(dirname(dirname(fileURLToPath(import.meta.url))));
    dir = parent;
  }
}

/** The folder holding vnfpipe's package.json, `assets/` and `templates/`. */
export const PACKAGE_ROOT = findRoot();

/** vnfpipe's own code: compiled (`dist/`) or, under test and in source-mapped stacks, `src/`. */
const OWN_CODE = [join(PACKAGE_ROOT, 'dist'), join(PACKAGE_ROOT, 'src')];

/** Whether a file belongs to vnfpipe itself (never the user's code). */
export function isOwnCode(file: string): boolean {
  return OWN_CODE.some((own) => file.startsWith(`${own}/`));
}

let version: string | undefined;

/** vnfpipe's version, from its package.json (read once). */
export function packageVersion(): string {
  version ??= (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string })
    .version;
  return version;
}
