/**
 * The `vnfprobe` binary that probe containers run. It is compiled from the C source shipped with vnfpipe
 * (`assets/vnfprobe.c`) with the host's C compiler, statically, once per source version, so it runs in any
 * image — even one built from scratch.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { VnfpipeError } from '../errors.js';
import { sha256 } from '../pipeline/hash.js';

const SOURCE = fileURLToPath(new URL('../../assets/vnfprobe.c', import.meta.url));

export async function probeBinary(stateDir: string): Promise<string> {
  const source = await readFile(SOURCE);
  const binary = join(stateDir, 'tools', `vnfprobe-${sha256(source).slice(0, 12)}`);
  if (existsSync(binary)) return binary;
  await mkdir(join(stateDir, 'tools'), { recursive: true });
  const temp = `${binary}.${process.pid}.tmp`;
  const compiler = process.env.CC ?? 'cc';
  try {
    await promisify(execFile)(compiler, ['-O2', '-static', '-o', temp, SOURCE]);
  } catch (error) {
    throw new VnfpipeError(
      'STEP_FAILED',
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
