/**
 * Loads a pipeline file. TypeScript files are bundled once with esbuild (packages stay external) into
 * `.vnfpipe/cache/pipeline/`, and the bundle is reused while its sources are unchanged, so loading a
 * pipeline usually costs one `import` and no compiler start.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { VnfpipeError } from '../errors.js';
import { isPipeline, type Pipeline } from './define.js';
import { writeFileAtomic, writeJsonAtomic } from './fsutil.js';
import { sha256 } from './hash.js';
import { displayPath, userSite } from './site.js';

export const DEFAULT_PIPELINE_FILE = 'vnfpipe.config.ts';

export interface LoadedPipeline {
  pipeline: Pipeline;
  /** Absolute path of the pipeline file. */
  file: string;
  /** The project directory: the pipeline file's folder. */
  cwd: string;
}

/** Bumped when bundles are built differently: a bundle of an older format is rebuilt. */
const BUNDLE_FORMAT = 2;

interface BundleMeta {
  format?: number;
  /** Source files with the size and mtime they had when bundled. */
  inputs: Record<string, { size: number; mtimeMs: number }>;
  bundle: string;
}

export async function loadPipeline(
  fileArg = DEFAULT_PIPELINE_FILE,
  cwd = process.cwd(),
): Promise<LoadedPipeline> {
  const file = resolve(cwd, fileArg);
  if (!existsSync(file)) {
    throw new VnfpipeError('PIPELINE_LOAD', `no pipeline file at ${relative(cwd, file) || file}`, {
      hint: `create ${DEFAULT_PIPELINE_FILE} (export default definePipeline(…)) or pass -f <file>`,
    });
  }
  const projectDir = dirname(file);
  const ext = extname(file);
  const entry = ['.ts', '.mts', '.cts', '.tsx'].includes(ext) ? await compiled(file, projectDir) : file;

  process.setSourceMapsEnabled(true);
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(entry).href)) as { default?: unknown };
  } catch (error) {
    throw loadError(error, file);
  }
  if (!isPipeline(module.default)) {
    throw new VnfpipeError('PIPELINE_LOAD', 'the default export is not a pipeline', {
      where: file,
      hint: "export default definePipeline('name', (p) => { … }) from 'vnfpipe'",
    });
  }
  return { pipeline: module.default, file, cwd: projectDir };
}

async function compiled(file: string, projectDir: string): Promise<string> {
  const cacheDir = join(projectDir, '.vnfpipe', 'cache', 'pipeline');
  const metaPath = join(cacheDir, `${basename(file)}.${sha256(file).slice(0, 12)}.json`);
  const meta = await readMeta(metaPath);
  if (meta?.format === BUNDLE_FORMAT && existsSync(meta.bundle) && unchanged(meta.inputs)) {
    return meta.bundle;
  }

  const esbuild = await import('esbuild');
  let result: Awaited<ReturnType<typeof esbuild.build>> & { outputFiles: { text: string }[] };
  try {
    result = (await esbuild.build({
      entryPoints: [file],
      absWorkingDir: projectDir,
      // The source map's paths are relative to the output folder: it must be the folder the bundle is
      // written to, or stack traces name files under the cache that do not exist.
      outdir: cacheDir,
      bundle: true,
      packages: 'external',
      // A tsconfig `paths` entry may map 'vnfpipe' to sources; the pipeline must use the installed package.
      external: ['vnfpipe', 'vnfpipe/*'],
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'inline',
      sourcesContent: false,
      write: false,
      metafile: true,
      logLevel: 'silent',
    })) as typeof result;
  } catch (error) {
    const first = (
      error as {
        errors?: Array<{
          text: string;
          location?: { file: string; line: number; column: number; lineText: string };
        }>;
      }
    ).errors?.[0];
    if (!first) throw error;
    const at = first.location;
    throw new VnfpipeError('PIPELINE_LOAD', first.text, {
      where: at
        ? `${displayPath(resolve(projectDir, at.file))}:${at.line}:${at.column + 1}`
        : displayPath(file),
      hint: at ? `  ${at.lineText.trim()}` : undefined,
    });
  } finally {
    await esbuild.stop();
  }
  const code = result.outputFiles[0]!.text;
  const bundle = join(cacheDir, `${basename(file, extname(file))}.${sha256(code).slice(0, 16)}.mjs`);
  await mkdir(cacheDir, { recursive: true });
  if (!existsSync(bundle)) await writeFileAtomic(bundle, code);
  const inputs: BundleMeta['inputs'] = {};
  for (const input of Object.keys(result.metafile?.inputs ?? {})) {
    const path = resolve(projectDir, input);
    const stats = statSync(path);
    inputs[path] = { size: stats.size, mtimeMs: stats.mtimeMs };
  }
  await writeJsonAtomic(metaPath, { format: BUNDLE_FORMAT, inputs, bundle } satisfies BundleMeta);
  return bundle;
}

async function readMeta(path: string): Promise<BundleMeta | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as BundleMeta;
  } catch {
    return undefined;
  }
}

function unchanged(inputs: BundleMeta['inputs']): boolean {
  return Object.entries(inputs).every(([path, seen]) => {
    try {
      const now = statSync(path);
      return now.size === seen.size && now.mtimeMs === seen.mtimeMs;
    } catch {
      return false;
    }
  });
}

/** Points a failure while evaluating the pipeline file at the line of the user's code that threw. */
function loadError(error: unknown, file: string): VnfpipeError {
  if (error instanceof VnfpipeError) {
    return new VnfpipeError(error.code, error.message, {
      where: error.where ?? userSite(error.stack) ?? displayPath(file),
      hint: error.hint,
      cause: error,
    });
  }
  const err = error as Error & { code?: string };
  const where = userSite(err.stack) ?? displayPath(file);
  // Node names the bundle in the cache as the importer; the user knows the file by its own name.
  const message = (err.message ?? String(error)).replace(/ imported from \S+$/, '');
  return new VnfpipeError('PIPELINE_LOAD', `loading the pipeline failed: ${message}`, {
    where,
    hint: missingPackageHint(err),
    cause: error,
  });
}

/** `npm install` of the package that is missing, named from Node's error. */
function missingPackageHint(err: Error & { code?: string }): string | undefined {
  if (err.code === 'ERR_MODULE_NOT_FOUND') {
    const specifier = /Cannot find package '([^']+)'/.exec(err.message)?.[1];
    if (specifier && packageName(specifier) === 'vnfpipe') {
      // The CLI runs from elsewhere (npx, a global link) but the project has no vnfpipe of its own.
      return 'install vnfpipe in the project: npm install --save-dev vnfpipe (before it is published: npm install --save-dev <path to a vnfpipe checkout or its npm pack tarball>)';
    }
    if (specifier) return `install it: npm install --save-dev ${packageName(specifier)}`;
  }
  if (err.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') {
    return 'the package does not export that path: check the import against its documentation';
  }
  return undefined;
}

/** The package part of an import specifier: `@scope/pkg/deep/x.js` → `@scope/pkg`, `pkg/sub` → `pkg`. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}
