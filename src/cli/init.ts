import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { VnfpipeError } from '../errors.js';
import { PACKAGE_ROOT } from '../package-root.js';
import { DEFAULT_TEMPLATE, findTemplate, TEMPLATES } from './templates.js';

export interface InitOptions {
  template?: string;
  force?: boolean;
  list?: boolean;
}

const TEMPLATES_DIR = join(PACKAGE_ROOT, 'templates');

/** npm leaves `.gitignore` files out of packages, so templates ship theirs without the dot. */
const SHIPPED_AS: Record<string, string> = { gitignore: '.gitignore' };

/** Writes a template's files into `dir` (default: the current folder); never overwrites without `force`. */
export async function initCommand(dirArg: string | undefined, opts: InitOptions): Promise<number> {
  if (opts.list) {
    for (const t of TEMPLATES) process.stdout.write(`${t.name.padEnd(11)} ${t.summary}\n`);
    return 0;
  }
  const name = opts.template ?? DEFAULT_TEMPLATE;
  const template = findTemplate(name);
  if (!template) {
    throw new VnfpipeError('USAGE', `there is no template '${name}'`, {
      where: '--template',
      hint: `choose one of: ${TEMPLATES.map((t) => t.name).join(', ')}`,
    });
  }
  const source = join(TEMPLATES_DIR, template.name);
  const target = resolve(dirArg ?? '.');
  const shipped = await listFiles(source);
  const written = (file: string) => SHIPPED_AS[file] ?? file;
  const files = shipped.map(written);
  const existing = files.filter((file) => existsSync(join(target, file)));
  if (existing.length > 0 && !opts.force) {
    throw new VnfpipeError('USAGE', `init would overwrite ${existing.join(', ')}`, {
      where: displayDir(target),
      hint: 'pass --force to overwrite them, or init into an empty folder: vnfpipe init <dir>',
    });
  }
  for (const file of shipped) {
    await mkdir(join(target, written(file), '..'), { recursive: true });
    await copyFile(join(source, file), join(target, written(file)));
  }
  const cd = dirArg ? `cd ${dirArg} && ` : '';
  process.stdout.write(
    `wrote the ${template.name} template into ${displayDir(target)}:\n${files.map((f) => `  ${f}\n`).join('')}` +
      `needs: ${template.needs}\nnext:  ${cd}npx ${template.next.replaceAll('&& vnfpipe', '&& npx vnfpipe')}\n`,
  );
  return 0;
}

/** Every file under `dir`, relative to it, sorted. */
async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(join(dir, prefix), { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...(await listFiles(dir, path)));
    else files.push(path);
  }
  return files.sort();
}

function displayDir(dir: string): string {
  return relative(process.cwd(), dir) || '.';
}
