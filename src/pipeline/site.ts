/**
 * Source sites: `file:line:column` of the user's code in a stack trace, for error messages. Stacks of
 * pipeline code are source-mapped (the loader enables source maps), so a site names the user's file.
 */
import { findSourceMap } from 'node:module';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isOwnCode } from '../package-root.js';

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
    if (isOwnCode(file) || file.includes('/node_modules/')) continue;
    return `${displayPath(file)}:${match[2]}:${match[3]}`;
  }
  return undefined;
}

type StackFormatter = (error: Error, sites: NodeJS.CallSite[]) => unknown;
const stackFormat = Error as { prepareStackTrace?: StackFormatter };
/** Node's own formatter (it applies Node's source maps) has this name; a test runner's has another. */
const isNodeFormatter = (format: StackFormatter | undefined) =>
  format === undefined || format.name === 'ErrorPrepareStackTrace';

/** Where the code calling into vnfpipe right now is. */
export function callerSite(): string | undefined {
  return laterCallerSite()?.();
}

/** A site worked out on first use (and remembered). */
export type LaterSite = () => string | undefined;

/**
 * Where the code calling into vnfpipe right now is, mapped through the source map only when asked: a pipeline
 * takes a site per step and per output reference, and `plan` or a run that goes well reads none of them.
 * Undefined when no frame can be the user's.
 */
export function laterCallerSite(): LaterSite | undefined {
  // Another tool's stack formatter (a test runner's source maps) knows positions we cannot map: use its text.
  if (!isNodeFormatter(stackFormat.prepareStackTrace)) {
    const site = userSite(new Error().stack);
    return site === undefined ? undefined : () => site;
  }
  const frames: Array<[file: string, line: number, column: number]> = [];
  for (const site of callSites()) {
    const file = site.getFileName();
    const line = site.getLineNumber();
    const column = site.getColumnNumber();
    if (!file || line === null || column === null || file.startsWith('node:')) continue;
    // vnfpipe's chunks and packages carry no source map: what is theirs before mapping stays theirs.
    if (!isForeign(file)) continue;
    frames.push([file, line, column]);
  }
  if (frames.length === 0) return undefined;
  let mapped: { site: string | undefined } | undefined;
  return () => {
    mapped ??= { site: firstUserFrame(frames) };
    return mapped.site;
  };
}

/** `target` with `key` read from `site` when first read; without a site, `target` as it is. */
export function withSite<T extends object>(target: T, key: string, site: LaterSite | undefined): T {
  if (site) Object.defineProperty(target, key, { get: site, enumerable: true });
  return target;
}

function firstUserFrame(frames: ReadonlyArray<readonly [string, number, number]>): string | undefined {
  for (const [raw, line, column] of frames) {
    const { file, position } = original(raw, line, column);
    if (isForeign(file)) return `${displayPath(file)}:${position}`;
  }
  return undefined;
}

/** Neither vnfpipe's own code nor a package's. */
function isForeign(fileOrUrl: string): boolean {
  const file = fileOrUrl.startsWith('file://') ? fileURLToPath(fileOrUrl) : fileOrUrl;
  return !isOwnCode(file) && !file.includes('/node_modules/');
}

/**
 * The raw call sites of the caller. Node's source-mapped stack text maps every frame of every stack, which
 * made loading a pipeline (a site per step and per output reference) cost more than the rest of `plan`;
 * here only the one frame that is reported gets mapped.
 */
function callSites(): NodeJS.CallSite[] {
  const holder: { stack?: NodeJS.CallSite[] } = {};
  const previous = stackFormat.prepareStackTrace;
  stackFormat.prepareStackTrace = (_error, sites) => sites;
  try {
    Error.captureStackTrace(holder, laterCallerSite);
    return holder.stack ?? [];
  } finally {
    stackFormat.prepareStackTrace = previous;
  }
}

/** A generated position mapped back through the file's source map (the loader's pipeline bundle), if any. */
function original(fileOrUrl: string, line: number, column: number): { file: string; position: string } {
  const file = fileOrUrl.startsWith('file://') ? fileURLToPath(fileOrUrl) : fileOrUrl;
  const entry = findSourceMap(fileOrUrl)?.findEntry(line - 1, column - 1) as
    | { originalSource?: string; originalLine?: number; originalColumn?: number }
    | undefined;
  if (entry?.originalSource === undefined || entry.originalLine === undefined) {
    return { file, position: `${line}:${column}` };
  }
  const source = entry.originalSource.startsWith('file://')
    ? fileURLToPath(entry.originalSource)
    : entry.originalSource;
  return { file: source, position: `${entry.originalLine + 1}:${(entry.originalColumn ?? 0) + 1}` };
}
