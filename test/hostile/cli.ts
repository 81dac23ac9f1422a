/** The built CLI as the hostile-corpus tests run it: a hang is a failure, so a minute ends the process. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'vnfpipe.js');

export interface CliRun {
  code: number | null;
  signal: string | null;
  stderr: string;
}

/** Runs `vnfpipe <args>` from dist/ (`npm run build` first); killed with SIGKILL after 60 s. */
export function hostileCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliRun> {
  return new Promise((ok) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      ...(options.cwd ? { cwd: options.cwd } : {}),
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      ok({ code, signal, stderr });
    });
  });
}
