/**
 * Where credentials for a registry come from, first match wins: explicit options, the environment
 * (`VNFPIPE_REGISTRY_USERNAME` + `VNFPIPE_REGISTRY_PASSWORD`, or `VNFPIPE_REGISTRY_TOKEN`; limited to one
 * registry by `VNFPIPE_REGISTRY_HOST` when set), then the docker config (credHelpers, credsStore, auths).
 */
import { type Credentials, credentialsFromDockerConfig } from './docker-config.js';

export type { Credentials } from './docker-config.js';

type Env = Readonly<Record<string, string | undefined>>;

/** `user:password` → basic; anything without a colon → a bearer token sent as is. */
export function credentialsFromString(text: string): Credentials {
  const colon = text.indexOf(':');
  return colon === -1
    ? { kind: 'token', token: text }
    : { kind: 'basic', username: text.slice(0, colon), password: text.slice(colon + 1) };
}

export function credentialsFromEnv(registry: string, env: Env): Credentials | undefined {
  const host = env.VNFPIPE_REGISTRY_HOST;
  if (host && host !== registry) return undefined;
  if (env.VNFPIPE_REGISTRY_TOKEN) return { kind: 'token', token: env.VNFPIPE_REGISTRY_TOKEN };
  const username = env.VNFPIPE_REGISTRY_USERNAME;
  const password = env.VNFPIPE_REGISTRY_PASSWORD;
  if (username !== undefined && password !== undefined) return { kind: 'basic', username, password };
  return undefined;
}

export async function resolveCredentials(
  registry: string,
  options: { credentials?: Credentials; env?: Env; dockerConfig?: boolean } = {},
): Promise<Credentials | undefined> {
  if (options.credentials) return options.credentials;
  const env = options.env ?? process.env;
  const fromEnv = credentialsFromEnv(registry, env);
  if (fromEnv) return fromEnv;
  if (options.dockerConfig === false) return undefined;
  return credentialsFromDockerConfig(registry, env);
}
