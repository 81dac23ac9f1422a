/**
 * Secrets: referenced by name in the pipeline, resolved only at run time, and masked everywhere a value
 * could leak (logs, events, journal, errors, generated files).
 */
import { readFileSync } from 'node:fs';
import { VnfpipeError } from '../errors.js';

export const SECRET_REF: unique symbol = Symbol.for('vnfpipe.secret');

export interface SecretRef {
  readonly [SECRET_REF]: true;
  readonly name: string;
  /** Read the value from this file instead of the environment. */
  readonly file?: string;
  toJSON(): string;
}

/** Names the credentials a step needs; resolved from `NAME`, or from the file named by `NAME_FILE`. */
export function secret(name: string, options: { file?: string } = {}): SecretRef {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new VnfpipeError(
      'PIPELINE_INVALID',
      `secret name '${name}' is not a valid environment variable name`,
    );
  }
  const ref: SecretRef = {
    [SECRET_REF]: true,
    name,
    ...(options.file ? { file: options.file } : {}),
    // Serialising a secret reference yields its name, never a value.
    toJSON: () => `secret(${name})`,
  };
  return Object.freeze(ref);
}

export function isSecretRef(value: unknown): value is SecretRef {
  return (
    typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[SECRET_REF] === true
  );
}

/** Reads a secret's value at run time. */
export function resolveSecret(ref: SecretRef, env: Readonly<Record<string, string | undefined>>): string {
  const file = ref.file ?? env[`${ref.name}_FILE`];
  if (file) {
    try {
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new VnfpipeError('SECRET_MISSING', `secret ${ref.name}: cannot read its file`, {
        where: file,
        hint: 'check the path given for the secret',
        cause: error,
      });
    }
  }
  const value = env[ref.name];
  if (value === undefined || value === '') {
    throw new VnfpipeError('SECRET_MISSING', `secret ${ref.name} is not set`, {
      hint: `set the environment variable ${ref.name} or ${ref.name}_FILE`,
    });
  }
  return value;
}

const MASK = '***';

/** Replaces every known secret value in text. Longer values first, so a secret containing another is fully masked. */
export class Masker {
  private values: string[] = [];

  add(value: string): void {
    if (value === '' || this.values.includes(value)) return;
    this.values.push(value);
    // Logs arrive line by line: each line of a multi-line secret (a PEM key) must be masked on its own.
    // Very short lines (a lone brace of a JSON credential) would mask ordinary text and reveal nothing.
    if (value.includes('\n')) {
      for (const line of value.split(/\r?\n/)) if (line.trim().length >= 8) this.add(line);
    }
    // Secrets are often passed encoded (basic auth, JSON): mask those forms too.
    const encoded = [
      Buffer.from(value).toString('base64'),
      ...base64Cores(value),
      JSON.stringify(value).slice(1, -1),
      encodeURIComponent(value),
    ];
    for (const form of encoded) if (form !== value && !this.values.includes(form)) this.values.push(form);
    this.values.sort((a, b) => b.length - a.length);
  }

  get active(): boolean {
    return this.values.length > 0;
  }

  mask(text: string): string {
    if (!this.active) return text;
    let out = text;
    for (const value of this.values) if (out.includes(value)) out = out.split(value).join(MASK);
    return out;
  }

  /** Masks every string inside a JSON-like value. */
  maskDeep<T>(value: T): T {
    if (!this.active) return value;
    return maskValue(value, this) as T;
  }
}

/** Shorter cores would mask ordinary words and reveal little. */
const MIN_CORE = 6;

/**
 * The base64 characters that depend on the secret alone, wherever it sits in the encoded data: base64
 * packs 3 bytes into 4 characters, so a secret preceded by 0, 1 or 2 bytes (mod 3) encodes to one of
 * three strings, whose first and last characters mix in the neighbouring bytes (`user:pass`, a trailing
 * newline from `echo`). Masking these cores, in standard and URL-safe alphabets, covers every alignment.
 */
export function base64Cores(value: string): string[] {
  const secret = Buffer.from(value);
  const cores: string[] = [];
  for (const offset of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset), secret])
      .toString('base64')
      .replace(/=+$/, '');
    // Characters holding bits of the preceding bytes, and the last one when it holds bits of what follows.
    const head = Math.ceil((offset * 8) / 6);
    const tail = (offset + secret.length) % 3 === 0 ? 0 : 1;
    const core = encoded.slice(head, encoded.length - tail);
    if (core.length < MIN_CORE) continue;
    cores.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return cores;
}

function maskValue(value: unknown, masker: Masker): unknown {
  if (typeof value === 'string') return masker.mask(value);
  if (Array.isArray(value)) return value.map((item) => maskValue(item, masker));
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, maskValue(item, masker)]));
  }
  return value;
}
