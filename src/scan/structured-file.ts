import { readFile } from 'node:fs/promises';
import { VnfpipeError } from '../errors.js';

/** A JSON (`.json`) or YAML file of ignore rules or VEX statements, parsed; USAGE errors name the file. */
export async function readStructured(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new VnfpipeError('USAGE', `cannot read ${path}: ${(error as Error).message}`, { where: path });
  }
  try {
    if (path.endsWith('.json')) return JSON.parse(text);
    const { parse } = await import('yaml');
    return parse(text);
  } catch (error) {
    throw new VnfpipeError('USAGE', `cannot parse ${path}: ${(error as Error).message}`, { where: path });
  }
}
