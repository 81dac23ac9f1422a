/**
 * Temporary projects for CLI tests: a folder with pipeline files and `node_modules/vnfpipe` linked to this
 * repository, as a user who installed vnfpipe would have it.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(REPO_ROOT, 'bin', 'vnfpipe.js');

export interface Project {
  dir: string;
  write(path: string, content: string): void;
  cli(args: string[], options?: CliOptions): Promise<CliResult>;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  /** The CLI to run (default: this repository's bin/vnfpipe.js), e.g. one installed from a packed tarball. */
  cli?: string;
  /** Called with the child once it runs (to send signals). */
  onSpawn?: (child: ReturnType<typeof spawn>) => void;
  /** Called with stdout as it grows. */
  onStdout?: (soFar: string) => void;
  /** Called with stderr as it grows. */
  onStderr?: (soFar: string) => void;
  timeoutMs?: number;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function makeProject(files: Record<string, string> = {}): Project {
  const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-test-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(REPO_ROOT, join(dir, 'node_modules', 'vnfpipe'), 'dir');
  // npm hoists vnfpipe's dependency on Node's types: `vnfpipe check` finds them as in an installed project.
  mkdirSync(join(dir, 'node_modules', '@types'));
  symlinkSync(
    join(REPO_ROOT, 'node_modules', '@types', 'node'),
    join(dir, 'node_modules', '@types', 'node'),
    'dir',
  );
  const write = (path: string, content: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  };
  for (const [path, content] of Object.entries(files)) write(path, content);
  return { dir, write, cli: (args, options) => runCli(dir, args, options) };
}

export function runCli(cwd: string, args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const env = {
      ...process.env,
      NO_COLOR: '1',
      CI: 'true',
      GITHUB_ACTIONS: '',
      GITLAB_CI: '',
      ...options.env,
    };
    const child = spawn(process.execPath, [options.cli ?? CLI, ...args], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      options.onStdout?.(stdout);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      options.onStderr?.(stderr);
    });
    // Only ends a hung CLI: below the test timeout, so the test still sees what it printed.
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 100_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
    options.onSpawn?.(child);
  });
}
