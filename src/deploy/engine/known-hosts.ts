/**
 * OpenSSH known_hosts files: which host keys a host may present. Plain (`host`, `[host]:port`, comma lists)
 * and hashed (`|1|salt|hash`) names; `@revoked` keys are refused; `@cert-authority` lines and wildcard
 * patterns are not followed (a host matched only by them counts as unknown).
 */
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';

export interface KnownKey {
  type: string;
  /** The key blob (SSH wire format), as the server sends it. */
  blob: Buffer;
  file: string;
  line: number;
}

export interface KnownHostKeys {
  keys: KnownKey[];
  revoked: KnownKey[];
}

/** The name OpenSSH looks a host up by: `host` on port 22, else `[host]:port`. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export function readKnownHosts(files: string[], host: string, port: number): KnownHostKeys {
  const name = knownHostsName(host, port);
  const found: KnownHostKeys = { keys: [], revoked: [] };
  for (const file of files) {
    if (!existsSync(file)) continue;
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((text, index) => {
      const fields = text.trim().split(/\s+/);
      if (!fields[0] || fields[0].startsWith('#')) return;
      let marker: string | undefined;
      if (fields[0].startsWith('@')) marker = fields.shift();
      const [names, type, base64] = fields;
      if (!names || !type || !base64 || marker === '@cert-authority') return;
      if (!names.split(',').some((pattern) => matches(pattern, name))) return;
      const key = { type, blob: Buffer.from(base64, 'base64'), file, line: index + 1 };
      (marker === '@revoked' ? found.revoked : found.keys).push(key);
    });
  }
  return found;
}

function matches(pattern: string, name: string): boolean {
  if (pattern.startsWith('!')) return false;
  const hashed = /^\|1\|([^|]+)\|(.+)$/.exec(pattern);
  if (hashed) {
    const digest = createHmac('sha1', Buffer.from(hashed[1]!, 'base64')).update(name).digest('base64');
    return digest === hashed[2];
  }
  return pattern === name;
}

/** The host key algorithms that can present keys of these known types (OpenSSH prefers the known ones too). */
export function hostKeyAlgorithms(keys: KnownKey[]): string[] {
  const algorithms = new Set<string>();
  for (const { type } of keys) {
    if (type === 'ssh-rsa') for (const a of ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']) algorithms.add(a);
    else algorithms.add(type);
  }
  return [...algorithms];
}
