/**
 * Type-checks a pipeline file with the TypeScript compiler. `vnfpipe run` strips types without checking
 * them (esbuild, as tsx does), so this is the gate: `vnfpipe check`, `plan --typecheck` and emitted CI.
 *
 * The compiler is the project's own `typescript` when it has one (its version, its settings), else the one
 * vnfpipe depends on. The options are the project's nearest `tsconfig.json` (up to its package root),
 * narrowed to the pipeline file and what it imports; without one, strict defaults.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { VnfpipeError } from '../errors.js';

export interface TypeDiagnostic {
  /** Relative to the working directory of the check. */
  file: string;
  line: number;
  column: number;
  /** `TS2322` */
  code: string;
  message: string;
}

export interface TypecheckResult {
  ok: boolean;
  diagnostics: TypeDiagnostic[];
  /** Errors without a place (a bad tsconfig, an unknown option). */
  general: string[];
  compiler: { version: string; from: 'project' | 'vnfpipe' };
  tsconfig: string | undefined;
}

/**
 * Options used when the project has no tsconfig.json: what the templates write. `preserve` + `bundler`
 * resolve as the loader does (esbuild bundles the pipeline as ESM, whatever package.json's `type` says).
 */
const DEFAULT_OPTIONS = {
  target: 'ES2022',
  module: 'preserve',
  moduleResolution: 'bundler',
  lib: ['ES2023'],
  strict: true,
  skipLibCheck: true,
  allowImportingTsExtensions: true,
  verbatimModuleSyntax: true,
};

export async function typecheckPipeline(file: string, cwd = process.cwd()): Promise<TypecheckResult> {
  const pipelineFile = resolve(cwd, file);
  if (!existsSync(pipelineFile)) {
    throw new VnfpipeError('PIPELINE_LOAD', `no pipeline file at ${relative(cwd, pipelineFile) || file}`, {
      hint: 'create vnfpipe.config.ts (vnfpipe init) or pass -f <file>',
    });
  }
  const projectDir = dirname(pipelineFile);
  const compiler = findCompiler(projectDir);
  const tsconfig = nearestTsconfig(projectDir);
  const configDir = join(projectDir, '.vnfpipe', 'cache', 'check');
  await mkdir(configDir, { recursive: true });
  const config = join(configDir, 'tsconfig.json');
  await writeFile(
    config,
    `${JSON.stringify(
      {
        ...(tsconfig ? { extends: tsconfig } : {}),
        compilerOptions: {
          ...(tsconfig ? {} : { ...DEFAULT_OPTIONS, types: hasNodeTypes(projectDir) ? ['node'] : [] }),
          noEmit: true,
          incremental: false,
        },
        files: [pipelineFile],
        include: [],
      },
      null,
      2,
    )}\n`,
  );
  const { stdout, code } = await runCompiler(compiler.bin, ['-p', config, '--pretty', 'false'], cwd);
  const { diagnostics, general } = parseDiagnostics(stdout);
  if (code !== 0 && diagnostics.length === 0 && general.length === 0) {
    general.push(`the TypeScript compiler exited with ${code} and printed nothing`);
  }
  return {
    ok: code === 0,
    diagnostics,
    general,
    compiler: { version: compiler.version, from: compiler.from },
    tsconfig,
  };
}

/** `file(line,col): error TS1234: message` lines, with their indented continuation lines. */
export function parseDiagnostics(output: string): { diagnostics: TypeDiagnostic[]; general: string[] } {
  const diagnostics: TypeDiagnostic[] = [];
  const general: string[] = [];
  let last: { message: string } | undefined;
  for (const line of output.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const placed = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/.exec(line);
    if (placed) {
      const [, file = '', row = '0', col = '0', code = '', message = ''] = placed;
      const diagnostic = { file, line: Number(row), column: Number(col), code, message };
      diagnostics.push(diagnostic);
      last = diagnostic;
      continue;
    }
    if (/^\s/.test(line) && last) {
      last.message += `\n${line}`;
      continue;
    }
    general.push(line);
    last = undefined;
  }
  return { diagnostics, general };
}

interface Compiler {
  bin: string;
  version: string;
  from: 'project' | 'vnfpipe';
}

function findCompiler(projectDir: string): Compiler {
  const candidates: Array<[string, Compiler['from']]> = [
    [join(projectDir, 'noop.js'), 'project'],
    [import.meta.filename, 'vnfpipe'],
  ];
  for (const [base, from] of candidates) {
    try {
      const manifest = createRequire(base).resolve('typescript/package.json');
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as {
        version: string;
        bin?: Record<string, string>;
      };
      const bin = pkg.bin?.tsc;
      if (bin) return { bin: join(dirname(manifest), bin), version: pkg.version, from };
    } catch {
      // not installed there: try the next place
    }
  }
  throw new VnfpipeError('USAGE', 'no TypeScript compiler found for the type check', {
    where: projectDir,
    hint: 'install it in the project: npm install --save-dev typescript',
  });
}

/** Node's types (`process`, `Buffer`) when the project can resolve them (vnfpipe depends on them). */
function hasNodeTypes(projectDir: string): boolean {
  try {
    createRequire(join(projectDir, 'noop.js')).resolve('@types/node/package.json');
    return true;
  } catch {
    return false;
  }
}

/** The nearest tsconfig.json from the pipeline's folder up to (and including) its package root. */
function nearestTsconfig(dir: string): string | undefined {
  for (let current = dir; ; current = dirname(current)) {
    const candidate = join(current, 'tsconfig.json');
    if (existsSync(candidate)) return candidate;
    if (existsSync(join(current, 'package.json')) || dirname(current) === current) return undefined;
  }
}

function runCompiler(bin: string, args: string[], cwd: string): Promise<{ stdout: string; code: number }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ stdout, code: code ?? 1 }));
  });
}
