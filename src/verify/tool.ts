/**
 * The `vnfprobe` binary that probe containers run. It is compiled from the C source shipped with vnfpipe
 * (`assets/vnfprobe.c`) with the host's C compiler, statically, once per source version, so it runs in any
 * image — even one built from scratch.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { VnfpipeError } from '../errors.js';
import { PACKAGE_ROOT } from '../package-root.js';
import { sha256 } from '../pipeline/hash.js';

const SOURCE = join(PACKAGE_ROOT, 'assets', 'vnfprobe.c');

const compiling = new Map<string, Promise<string>>();

/** The probe tool's path, compiled at most once per state folder at a time (parallel verify steps share it). */
export function probeBinary(stateDir: string): Promise<string> {
  let pending = compiling.get(stateDir);
  if (!pending) {
    pending = compile(stateDir).finally(() => compiling.delete(stateDir));
    compiling.set(stateDir, pending);
  }
  return pending;
}

async function compile(stateDir: string): Promise<string> {
  const source = await readFile(SOURCE);
  const binary = join(stateDir, 'tools', `vnfprobe-${sha256(source).slice(0, 12)}`);
  if (existsSync(binary)) return binary;
  await mkdir(join(stateDir, 'tools'), { recursive: true });
  // Another process may compile the same version at the same time: each writes its own temp file, and the
  // rename makes whichever finishes last the one in place (they are the same program).
  const temp = `${binary}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const compiler = process.env.CC ?? 'cc';
  try {
    await promisify(execFile)(compiler, ['-O2', '-static', '-o', temp, SOURCE]);
  } catch (error) {
    throw new VnfpipeError(
      'VERIFY_INFRA',
      `cannot compile the probe tool with ${compiler}: ${(error as Error).message.split('\n')[0]}`,
      {
        where: SOURCE,
        hint: 'install a C compiler with static libc (Debian: gcc, libc6-dev) or set CC',
      },
    );
  }
  await rename(temp, binary);
  return binary;
}
