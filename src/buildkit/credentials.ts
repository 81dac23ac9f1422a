/**
 * Registry credentials for BuildKit's Auth/Credentials callback, from our credential store (VNFPIPE env
 * credentials, docker config, credential helpers). An identity token goes with an empty username, as
 * BuildKit expects.
 */
import { resolveCredentials } from '../registry/auth/credentials.js';

export function credentialsFrom(env: Readonly<Record<string, string | undefined>> = process.env) {
  return async (host: string): Promise<{ username: string; secret: string } | undefined> => {
    // BuildKit asks for Docker Hub as `registry-1.docker.io`; the store knows it as docker.io too.
    const found = await resolveCredentials(host, { env }).catch(() => undefined);
    if (!found) return undefined;
    if (found.kind === 'basic') return { username: found.username, secret: found.password };
    if (found.kind === 'identity') return { username: '', secret: found.token };
    return undefined;
  };
}
