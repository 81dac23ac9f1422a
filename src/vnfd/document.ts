/**
 * Reading an ETSI SOL006 VNFD document: JSON (RFC 7951, module-prefixed top-level keys) or YAML, as
 * orchestrators write them. Finds the one `vnfd` object inside and says at which YANG path it sits, so
 * every later message can name the node.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { VnfpipeError } from '../errors.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface LocatedVnfd {
  vnfd: JsonObject;
  /** What else the document holds (other VNFDs, an NSD, …): reported with the unmapped elements. */
  besides: Array<{ path: string; reason: string }>;
  /** YANG data path of the vnfd node: `/etsi-nfv-vnfd:vnfd` or `/etsi-nfv-descriptors:nfv/vnfd[id='x']`. */
  path: string;
  file: string;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Drops an RFC 7951 module prefix: `etsi-nfv-vnfd:vnfd` → `vnfd`. */
export function localName(key: string): string {
  const colon = key.indexOf(':');
  return colon < 0 ? key : key.slice(colon + 1);
}

/** Identityref values carry their module in JSON (`etsi-nfv-descriptors:ipv4`); compare without it. */
export function identity(value: Json | undefined): string | undefined {
  return typeof value === 'string' ? localName(value) : undefined;
}

export function vnfdError(message: string, where: string, hint?: string): VnfpipeError {
  return new VnfpipeError('VNFD_INVALID', message, hint ? { where, hint } : { where });
}

/**
 * The YAML parser, loaded on first use: every pipeline file imports this module through `vnfpipe`, and
 * most never read YAML. `vnfd.workload()` is synchronous, hence require (yaml ships CommonJS for Node).
 */
function parseYaml(text: string): unknown {
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yaml.parse(text);
}

export function parseVnfdText(text: string, file: string): Json {
  const ext = extname(file).toLowerCase();
  if (ext === '.xml' || text.trimStart().startsWith('<')) {
    throw vnfdError(
      'XML VNFDs are not read',
      file,
      'convert it to JSON: yanglint -f json <modules> file.xml',
    );
  }
  try {
    // JSON is YAML too, but JSON.parse gives better positions for JSON files.
    return (ext === '.json' ? JSON.parse(text) : parseYaml(text)) as Json;
  } catch (error) {
    throw new VnfpipeError('VNFD_INVALID', `not valid ${ext === '.json' ? 'JSON' : 'YAML'}`, {
      where: file,
      cause: error,
      hint: (error as Error).message,
    });
  }
}

export function readVnfdFile(file: string, select?: string): LocatedVnfd {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new VnfpipeError('VNFD_INVALID', `cannot read the VNFD: ${(error as Error).message}`, {
      where: file,
      cause: error,
    });
  }
  return locateVnfd(parseVnfdText(text, file), file, select);
}

/**
 * The vnfd node of a document. Accepted tops: `etsi-nfv-vnfd:vnfd` (one VNFD), `etsi-nfv-descriptors:nfv`
 * with a `vnfd` list, and the same without prefixes (OSM's YAML). `select` picks a VNFD of a list by id.
 */
export function locateVnfd(doc: Json, file: string, select?: string): LocatedVnfd {
  if (!isObject(doc)) throw vnfdError('the document is not an object', file);
  const besides = (top: string, inside?: JsonObject, parent = '') =>
    Object.keys(inside ?? doc)
      .filter((key) => key !== top)
      .map((key) => ({ path: `${parent}/${key}`, reason: 'not part of the VNFD' }));
  for (const [key, value] of Object.entries(doc)) {
    const name = localName(key);
    if (name === 'vnfd' && isObject(value))
      return { vnfd: value, path: `/${key}`, file, besides: besides(key) };
    if (name === 'vnfd' && Array.isArray(value)) return pick(value, `/${key}`, file, select, besides(key));
    if (name === 'nfv' && isObject(value)) {
      const list = value.vnfd;
      const others = [...besides(key), ...besides('vnfd', value, `/${key}`)];
      if (Array.isArray(list)) return pick(list, `/${key}/vnfd`, file, select, others);
      throw vnfdError('no vnfd list', `${file} /${key}`);
    }
  }
  throw vnfdError(
    'no VNFD in the document',
    file,
    "the top-level key must be 'etsi-nfv-vnfd:vnfd' or 'etsi-nfv-descriptors:nfv' (prefixes optional)",
  );
}

function pick(
  list: Json[],
  path: string,
  file: string,
  select: string | undefined,
  besides: LocatedVnfd['besides'],
): LocatedVnfd {
  const vnfds = list.filter(isObject);
  const ids = vnfds.map((v) => String(v.id));
  const chosen =
    select === undefined ? (vnfds.length === 1 ? vnfds[0] : undefined) : vnfds[ids.indexOf(select)];
  if (!chosen) {
    throw vnfdError(
      select === undefined ? `${vnfds.length} VNFDs in the list` : `no VNFD with id '${select}'`,
      `${file} ${path}`,
      `pick one of: ${ids.join(', ') || '(none)'}`,
    );
  }
  const others = vnfds
    .filter((v) => v !== chosen)
    .map((v) => ({
      path: `${path}[id='${String(v.id)}']`,
      reason: `another VNFD (imported: '${String(chosen.id)}')`,
    }));
  return { vnfd: chosen, path: `${path}[id='${String(chosen.id)}']`, file, besides: [...besides, ...others] };
}
