/**
 * `~/.docker/config.json` (or `$DOCKER_CONFIG/config.json`), as docker reads and writes it: `auths` with
 * base64 `user:password` or an `identitytoken`, a default `credsStore`, and per-registry `credHelpers`.
 * Unknown fields are kept when we write; the file is replaced atomically with mode 0600. Credential helpers
 * (and node:child_process) load only when configured.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { VnfpipeError } from '../../errors.js';

export type Credentials =
  | { kind: 'basic'; username: string; password: string }
  /** An OAuth2 refresh token (docker's `identitytoken`), exchanged at the token endpoint. */
  | { kind: 'identity'; username?: string; token: string }
  /** A bearer token sent as is (docker's `registrytoken`). */
  | { kind: 'token'; token: string };

type Env = Readonly<Record<string, string | undefined>>;

/** docker.io's historical key in config.json. */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';
const HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

export function dockerConfigPath(env: Env = process.env): string {
  const dir = env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
  return join(dir, 'config.json');
}

/** The key docker uses for a registry (and the server URL given to credential helpers). */
export function configKey(registry: string): string {
  return HUB_ALIASES.has(registry) ? DOCKER_HUB_KEY : registry;
}

/** `https://host/v1/`, `http://host`, `host` → `host` (docker.io aliases → docker.io). */
function normaliseKey(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, '').split('/')[0] ?? '';
  return HUB_ALIASES.has(host) ? 'docker.io' : host;
}

type JsonRecord = Record<string, unknown>;

async function readConfig(path: string): Promise<JsonRecord> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new VnfpipeError('IO', `cannot read docker config (${(error as NodeJS.ErrnoException).code})`, {
      where: path,
    });
  }
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new VnfpipeError('USAGE', 'docker config is not valid JSON', { where: path });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new VnfpipeError('USAGE', 'docker config must be a JSON object', { where: path });
  }
  return value as JsonRecord;
}

function objectField(config: JsonRecord, name: string, path: string): JsonRecord {
  const value = config[name];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new VnfpipeError('USAGE', `docker config: ${name} must be an object`, { where: path });
  }
  return value as JsonRecord;
}

function helperFor(config: JsonRecord, registry: string, path: string): string | undefined {
  const helpers = objectField(config, 'credHelpers', path);
  const wanted = normaliseKey(registry);
  for (const [key, helper] of Object.entries(helpers)) {
    if (normaliseKey(key) === wanted && typeof helper === 'string' && helper) return helper;
  }
  const store = config.credsStore;
  return typeof store === 'string' && store ? store : undefined;
}

function fromAuthEntry(entry: unknown, registry: string, path: string): Credentials | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const record = entry as JsonRecord;
  const where = `${path} (auths.${registry})`;
  if (typeof record.registrytoken === 'string' && record.registrytoken)
    return { kind: 'token', token: record.registrytoken };
  let username = typeof record.username === 'string' ? record.username : undefined;
  let password = typeof record.password === 'string' ? record.password : undefined;
  if (typeof record.auth === 'string' && record.auth) {
    const decoded = Buffer.from(record.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon === -1)
      throw new VnfpipeError('USAGE', 'docker config: auth is not base64 of user:password', { where });
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  if (typeof record.identitytoken === 'string' && record.identitytoken) {
    return { kind: 'identity', token: record.identitytoken, ...(username ? { username } : {}) };
  }
  if (username !== undefined && password !== undefined && (username || password)) {
    return { kind: 'basic', username, password };
  }
  return undefined;
}

/** Docker's convention: a helper username of `<token>` means the secret is an identity token. */
function fromHelper(username: string, secret: string): Credentials {
  return username === '<token>'
    ? { kind: 'identity', token: secret }
    : { kind: 'basic', username, password: secret };
}

/** Credentials for a registry from the docker config: credHelpers, then credsStore, then auths. */
export async function credentialsFromDockerConfig(
  registry: string,
  env: Env = process.env,
): Promise<Credentials | undefined> {
  const path = dockerConfigPath(env);
  const config = await readConfig(path);
  const helper = helperFor(config, registry, path);
  if (helper) {
    const { helperGet } = await import('./credential-helper.js');
    const found = await helperGet(helper, configKey(registry), env as NodeJS.ProcessEnv);
    if (found) return fromHelper(found.username, found.secret);
  }
  const auths = objectField(config, 'auths', path);
  const wanted = normaliseKey(registry);
  for (const [key, entry] of Object.entries(auths)) {
    if (normaliseKey(key) !== wanted) continue;
    const found = fromAuthEntry(entry, registry, path);
    if (found) return found;
  }
  return undefined;
}

async function writeConfig(path: string, config: JsonRecord): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, `${JSON.stringify(config, null, '\t')}\n`, { mode: 0o600 });
  await rename(temp, path);
}

/** Saves credentials like `docker login`: into the helper when one is configured, else base64 in `auths`. */
export async function storeCredentials(
  registry: string,
  credentials: { username: string; password: string },
  env: Env = process.env,
): Promise<{ path: string; helper?: string }> {
  const path = dockerConfigPath(env);
  const config = await readConfig(path);
  const helper = helperFor(config, registry, path);
  const key = configKey(registry);
  const auths = { ...objectField(config, 'auths', path) };
  if (helper) {
    const { helperStore } = await import('./credential-helper.js');
    await helperStore(
      helper,
      key,
      { username: credentials.username, secret: credentials.password },
      env as NodeJS.ProcessEnv,
    );
    // Docker keeps an empty entry so `docker info` lists the registry.
    auths[key] = {};
  } else {
    auths[key] = { auth: Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64') };
  }
  await writeConfig(path, { ...config, auths });
  return helper ? { path, helper } : { path };
}

/** Removes stored credentials like `docker logout`; false when there were none. */
export async function eraseCredentials(registry: string, env: Env = process.env): Promise<boolean> {
  const path = dockerConfigPath(env);
  const config = await readConfig(path);
  const helper = helperFor(config, registry, path);
  if (helper) {
    const { helperErase } = await import('./credential-helper.js');
    await helperErase(helper, configKey(registry), env as NodeJS.ProcessEnv);
  }
  const auths = { ...objectField(config, 'auths', path) };
  const wanted = normaliseKey(registry);
  let removed = Boolean(helper);
  for (const key of Object.keys(auths)) {
    if (normaliseKey(key) === wanted) {
      delete auths[key];
      removed = true;
    }
  }
  if (removed) await writeConfig(path, { ...config, auths });
  return removed;
}
