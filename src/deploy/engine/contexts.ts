/**
 * Docker contexts as the docker CLI stores them: `currentContext` in `<config dir>/config.json`, each
 * context's endpoint in `contexts/meta/<sha256 of name>/meta.json`, its TLS files in
 * `contexts/tls/<sha256 of name>/docker/{ca,cert,key}.pem`. The config dir is DOCKER_CONFIG or ~/.docker.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { VnfpipeError } from '../../errors.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The engine a context names: its DOCKER_HOST string and TLS material (PEM contents). */
export interface DockerContext {
  name: string;
  host: string;
  skipTlsVerify: boolean;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

export function dockerConfigDir(env: Env): string {
  return env.DOCKER_CONFIG?.trim() || join(env.HOME?.trim() || homedir(), '.docker');
}

/** DOCKER_CONTEXT, else the config file's `currentContext`; undefined means the default engine. */
export function currentContextName(env: Env): string | undefined {
  const fromEnv = env.DOCKER_CONTEXT?.trim();
  if (fromEnv) return fromEnv;
  const file = join(dockerConfigDir(env), 'config.json');
  if (!existsSync(file)) return undefined;
  let config: { currentContext?: unknown };
  try {
    config = JSON.parse(readFileSync(file, 'utf8')) as { currentContext?: unknown };
  } catch (error) {
    throw new VnfpipeError('USAGE', 'the docker config file is not valid JSON', {
      where: file,
      cause: error,
    });
  }
  return typeof config.currentContext === 'string' && config.currentContext
    ? config.currentContext
    : undefined;
}

/** Reads a named context's docker endpoint; `default` is not stored (it is DOCKER_HOST or the local socket). */
export function readDockerContext(name: string, env: Env): DockerContext {
  const dir = dockerConfigDir(env);
  const id = createHash('sha256').update(name).digest('hex');
  const metaFile = join(dir, 'contexts', 'meta', id, 'meta.json');
  if (!existsSync(metaFile)) {
    throw new VnfpipeError('USAGE', `docker context '${name}' does not exist`, {
      where: join(dir, 'contexts'),
      hint: '`docker context ls` lists the contexts; DOCKER_CONFIG says which config folder is read',
    });
  }
  let meta: { Endpoints?: { docker?: { Host?: unknown; SkipTLSVerify?: unknown } } };
  try {
    meta = JSON.parse(readFileSync(metaFile, 'utf8')) as typeof meta;
  } catch (error) {
    throw new VnfpipeError('USAGE', `docker context '${name}': meta.json is not valid JSON`, {
      where: metaFile,
      cause: error,
    });
  }
  const endpoint = meta.Endpoints?.docker;
  if (typeof endpoint?.Host !== 'string' || !endpoint.Host) {
    throw new VnfpipeError('USAGE', `docker context '${name}' has no docker endpoint`, {
      where: metaFile,
      hint: 'docker context update --docker host=… sets one',
    });
  }
  const tlsDir = join(dir, 'contexts', 'tls', id, 'docker');
  const tls: NonNullable<DockerContext['tls']> = {};
  for (const file of ['ca', 'cert', 'key'] as const) {
    const path = join(tlsDir, `${file}.pem`);
    if (existsSync(path)) tls[file] = readFileSync(path);
  }
  return {
    name,
    host: endpoint.Host,
    skipTlsVerify: endpoint.SkipTLSVerify === true,
    ...(Object.keys(tls).length ? { tls } : {}),
  };
}
