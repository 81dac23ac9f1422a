/**
 * Source sites: `file:line:column` of the user's code in a stack trace, for error messages. Stacks of
 * pipeline code are source-mapped (the loader enables source maps), so a site names the user's file.
 */
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * vnfpipe's own code: never the user's site. Both `dist/` and `src/`, because a `dist/` module first loaded
 * after the loader enabled source maps (one the pipeline file pulls in, such as `fleet`) shows in stacks under
 * its `src/` path.
 */
const PACKAGE_ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const OWN_CODE = [join(PACKAGE_ROOT, 'dist'), join(PACKAGE_ROOT, 'src')];

// `at fn (/abs/file.ts:3:5)` or `at /abs/file.ts:3:5`; never `node:internal/…`.
const FRAME = /(?:\(|at )((?:file:\/\/)?\/[^\s()]+):(\d+):(\d+)\)?\s*$/;

/** A path as the user should see it: relative to the current directory when that is shorter. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('../../') ? rel : path;
}

/** The first frame of a stack in user code (not vnfpipe, not a package, not Node itself), as `file:line:col`. */
export function userSite(stack: string | undefined): string | undefined {
  for (const frame of (stack ?? '').split('\n').slice(1)) {
    const match = FRAME.exec(frame);
    if (!match) continue;
    const file = match[1]!.startsWith('file://') ? fileURLToPath(match[1]!) : match[1]!;
    if (OWN_CODE.some((dir) => file.startsWith(`${dir}/`)) || file.includes('/node_modules/')) continue;
    return `${displayPath(file)}:${match[2]}:${match[3]}`;
  }
  return undefined;
}

/** Where the code calling into vnfpipe right now is. */
export function callerSite(): string | undefined {
  return userSite(new Error().stack);
}
