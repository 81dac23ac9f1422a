import { existsSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { VnfpipeError } from '../errors.js';
import { PACKAGE_ROOT } from '../package-root.js';

export async function initCommand(opts: { file: string; force?: boolean }): Promise<number> {
  const target = resolve(opts.file);
  if (existsSync(target) && !opts.force) {
    throw new VnfpipeError('USAGE', `${opts.file} already exists`, { hint: 'pass --force to overwrite it' });
  }
  const template = join(PACKAGE_ROOT, 'templates', 'vnfpipe.config.ts');
  await copyFile(template, target);
  process.stdout.write(
    `wrote ${opts.file}: edit it, then run \`npx vnfpipe plan\` and \`npx vnfpipe run\`\n`,
  );
  return 0;
}
