/**
 * Small checkers that turn untrusted JSON into typed values. Each failure is an OCI_INVALID error naming
 * the document (`where`) and the JSON path of the bad field.
 */
import { VnfpipeError } from '../errors.js';

/** Manifests, indexes and configs larger than this are refused (registries use the same 4 MiB bound). */
export const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;

export type JsonObject = Record<string, unknown>;

export function invalid(message: string, where: string | undefined, hint?: string): VnfpipeError {
  return new VnfpipeError('OCI_INVALID', message, { where, hint });
}

/** Parses a JSON document of bounded size; never throws anything but OCI_INVALID. */
export function parseJsonDocument(
  data: string | Uint8Array,
  where: string | undefined,
  maxBytes = MAX_DOCUMENT_BYTES,
): JsonObject {
  const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (size > maxBytes) {
    throw invalid(`document is ${size} bytes, more than the ${maxBytes} allowed`, where);
  }
  const text =
    typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.length).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalid(`malformed JSON: ${(error as Error).message}`, where);
  }
  return asObject(value, '$', where);
}

export function asObject(value: unknown, path: string, where: string | undefined): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`${path} must be an object`, where);
  }
  return value as JsonObject;
}

export function asString(value: unknown, path: string, where: string | undefined): string {
  if (typeof value !== 'string') throw invalid(`${path} must be a string`, where);
  return value;
}

export function optString(value: unknown, path: string, where: string | undefined): string | undefined {
  return value === undefined || value === null ? undefined : asString(value, path, where);
}

export function asInteger(value: unknown, path: string, where: string | undefined): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(`${path} must be a non-negative integer`, where);
  }
  return value;
}

export function asArray(value: unknown, path: string, where: string | undefined): unknown[] {
  if (!Array.isArray(value)) throw invalid(`${path} must be an array`, where);
  return value;
}

export function optStringArray(
  value: unknown,
  path: string,
  where: string | undefined,
): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  return asArray(value, path, where).map((item, i) => asString(item, `${path}[${i}]`, where));
}

export function optStringMap(
  value: unknown,
  path: string,
  where: string | undefined,
): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  const object = asObject(value, path, where);
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(object)) out[key] = asString(item, `${path}.${key}`, where);
  return out;
}

/** Docker-style sets (`{"80/tcp": {}}`): keys matter, values are empty objects. */
export function optKeySet(
  value: unknown,
  path: string,
  where: string | undefined,
): Record<string, object> | undefined {
  if (value === undefined || value === null) return undefined;
  const object = asObject(value, path, where);
  const out: Record<string, object> = {};
  for (const key of Object.keys(object)) out[key] = {};
  return out;
}
