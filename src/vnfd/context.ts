/** What the parts of an import share: the VNFD, where it is, and the record of what was mapped. */
import { WORKLOAD_NAME } from '../deploy/model.js';
import { Coverage } from './coverage.js';
import { isObject, type Json, type JsonObject, type LocatedVnfd } from './document.js';

export class ImportContext {
  readonly cov = new Coverage();
  readonly vnfd: JsonObject;
  /** YANG path of the vnfd node. */
  readonly root: string;
  readonly file: string;

  constructor(located: LocatedVnfd) {
    this.vnfd = located.vnfd;
    this.root = located.path;
    this.file = located.file;
  }

  /** An error's `where`: the file and the YANG path. */
  where(path: string): string {
    return `${this.file} ${path}`;
  }

  /** The path of a list entry keyed by id: `<parent>/vdu[id='fw']`. */
  entry(listName: string, id: string, parent = this.root): string {
    return `${parent}/${listName}[id='${id}']`;
  }
}

export function list(value: Json | undefined): JsonObject[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

export function num(value: Json | undefined): number | undefined {
  // RFC 7951 writes 64-bit integers and decimal64 as strings.
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value);
  return undefined;
}

/** A VNFD id as a workload name or network role (lower case, no spaces). */
export function safeName(id: string): string {
  const name = id
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
  return WORKLOAD_NAME.test(name) ? name : 'vnf';
}

export function ids(items: JsonObject[]): string {
  return items.map((i) => String(i.id)).join(', ');
}
