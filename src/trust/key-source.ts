/**
 * Where a signing key comes from: a file path, `env://NAME` (cosign's spelling), or a pipeline `secret()`.
 * The password of an encrypted key comes from `COSIGN_PASSWORD` (cosign's variable) unless given.
 */
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { VnfpipeError } from '../errors.js';
import { isSecretRef, resolveSecret, type SecretRef } from '../pipeline/secret.js';
import { loadPrivateKey, loadPublicKey } from './keys.js';

export type KeySource = string | SecretRef;
type Env = Readonly<Record<string, string | undefined>>;

function keyText(source: KeySource, env: Env): { text: string; where: string } {
  if (isSecretRef(source)) return { text: resolveSecret(source, env), where: `secret(${source.name})` };
  if (source.startsWith('env://')) {
    const name = source.slice('env://'.length);
    const text = env[name];
    if (!text) throw new VnfpipeError('USAGE', `the environment variable ${name} holding the key is not set`);
    return { text, where: source };
  }
  try {
    return { text: readFileSync(source, 'utf8'), where: source };
  } catch (error) {
    throw new VnfpipeError(
      'USAGE',
      `cannot read the key (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      { where: source },
    );
  }
}

export function readPrivateKey(
  source: KeySource,
  options: { password?: string | SecretRef; env?: Env } = {},
): KeyObject {
  const env = options.env ?? process.env;
  const { text, where } = keyText(source, env);
  const password = isSecretRef(options.password)
    ? resolveSecret(options.password, env)
    : (options.password ?? env.COSIGN_PASSWORD);
  return loadPrivateKey(text, password, where);
}

export function readPublicKey(source: KeySource, env: Env = process.env): KeyObject {
  const { text, where } = keyText(source, env);
  return loadPublicKey(text, where);
}
