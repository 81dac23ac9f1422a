/**
 * Loads a pipeline file. TypeScript files are bundled once with esbuild (packages stay external) into
 * `.vnfpipe/cache/pipeline/`, and the bundle is reused while its sources are unchanged, so loading a
 * pipeline usually costs one `import` and no compiler start.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { VnfpipeError } from '../errors.js';
import { isPipeline, type Pipeline } from './define.js';
import { writeFileAtomic, writeJsonAtomic } from './fsutil.js';
import { sha256 } from './hash.js';

export const DEFAULT_PIPELINE_FILE = 'vnfpipe.config.ts';

export interface LoadedPipeline {
  pipeline: Pipeline;
  /** Absolute path of the pipeline file. */
  file: string;
  /** The project directory: the pipeline file's folder. */
  cwd: string;
}

interface BundleMeta {
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
  if (meta && existsSync(meta.bundle) && unchanged(meta.inputs)) return meta.bundle;

  const esbuild = await import('esbuild');
  let result: Awaited<ReturnType<typeof esbuild.build>> & { outputFiles: { text: string }[] };
  try {
    result = (await esbuild.build({
      entryPoints: [file],
      absWorkingDir: projectDir,
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
      where: at ? `${resolve(projectDir, at.file)}:${at.line}:${at.column + 1}` : file,
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
  await writeJsonAtomic(metaPath, { inputs, bundle } satisfies BundleMeta);
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
      where: error.where ?? file,
      hint: error.hint,
      cause: error,
    });
  }
  const err = error as Error & { code?: string };
  const frames = (err.stack ?? '').split('\n').slice(1);
  const dir = dirname(file);
  const userFrame = frames
    .map((frame) => frame.match(/\(?((?:file:\/\/)?\/[^\s()]+):(\d+):(\d+)\)?\s*$/))
    .find((match) => match && !match[1]!.includes('/node_modules/') && toPath(match[1]!).startsWith(dir));
  const where = userFrame ? `${toPath(userFrame[1]!)}:${userFrame[2]}:${userFrame[3]}` : file;
  const hint =
    err.code === 'ERR_MODULE_NOT_FOUND' || err.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED'
      ? 'install the package the pipeline imports (npm install), e.g. npm install --save-dev vnfpipe'
      : undefined;
  return new VnfpipeError('PIPELINE_LOAD', `loading the pipeline failed: ${err.message ?? String(error)}`, {
    where,
    hint,
    cause: error,
  });
}

function toPath(location: string): string {
  return location.startsWith('file://') ? fileURLToPath(location) : location;
}
