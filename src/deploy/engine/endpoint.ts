/**
 * Which engine, and how to open a connection to it, the way the docker CLI decides: a step's `engine`, else
 * its `context`, else DOCKER_HOST (with DOCKER_TLS_VERIFY / DOCKER_CERT_PATH), else DOCKER_CONTEXT, else the
 * docker config's `currentContext`, else the local socket. Key material stays inside the dialer's closure:
 * an endpoint serialises to its address only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { VnfpipeError } from '../../errors.js';
import { type EngineOption, type EngineSshOptions, parseEngineHost } from './address.js';
import { currentContextName, dockerConfigDir, readDockerContext } from './contexts.js';
import type { SshSettings } from './ssh.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface EngineEndpoint {
  socketPath?: string;
  host?: string;
  port?: number;
  /** For messages: `unix:///var/run/docker.sock`, `tcp://10.0.0.5:2376`, `docker context 'site-a' (ssh://…)`. */
  display: string;
  /** Opens one connection where a plain socket will not do (TLS, an SSH channel); the timeout is for idleness. */
  dial?: (timeoutMs?: number) => Promise<Duplex>;
}

/** What names the engine: a step's (or command's) `engine` or `context`; neither means the environment's. */
export interface EngineChoice {
  engine?: EngineOption;
  context?: string;
}

interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  verify: boolean;
  /** Where the material came from, for hints. */
  from: string;
}

const DEFAULT_SOCKET = 'unix:///var/run/docker.sock';

/** Resolves the engine; relative TLS/SSH file paths are relative to `cwd` (the project). */
export function resolveEngine(choice: EngineChoice, env: Env = process.env, cwd = '.'): EngineEndpoint {
  if (choice.engine !== undefined) {
    const spec = typeof choice.engine === 'string' ? { host: choice.engine } : choice.engine;
    const tls = spec.tls
      ? {
          ...(spec.tls.ca ? { ca: readPem(resolve(cwd, spec.tls.ca), 'engine.tls.ca') } : {}),
          ...(spec.tls.cert ? { cert: readPem(resolve(cwd, spec.tls.cert), 'engine.tls.cert') } : {}),
          ...(spec.tls.key ? { key: readPem(resolve(cwd, spec.tls.key), 'engine.tls.key') } : {}),
          verify: spec.tls.verify ?? true,
          from: "the step's engine.tls",
        }
      : tlsFromEnv(env);
    const ssh = spec.ssh
      ? {
          ...(spec.ssh.identity ? { identity: resolve(cwd, spec.ssh.identity) } : {}),
          ...(spec.ssh.knownHosts ? { knownHosts: resolve(cwd, spec.ssh.knownHosts) } : {}),
        }
      : {};
    return endpointAt(spec.host, spec.host, env, tls, ssh);
  }
  const context = choice.context ?? (env.DOCKER_HOST?.trim() ? undefined : currentContextName(env));
  if (context && context !== 'default') {
    const found = readDockerContext(context, env);
    const tls =
      found.tls || found.skipTlsVerify
        ? { ...found.tls, verify: !found.skipTlsVerify, from: `docker context '${context}'` }
        : undefined;
    return endpointAt(found.host, `docker context '${context}' (${found.host})`, env, tls, {});
  }
  const host = env.DOCKER_HOST?.trim() || DEFAULT_SOCKET;
  return endpointAt(host, host, env, tlsFromEnv(env), {});
}

function endpointAt(
  host: string,
  display: string,
  env: Env,
  tls: TlsMaterial | undefined,
  ssh: EngineSshOptions,
): EngineEndpoint {
  const parsed = parseEngineHost(host, display);
  if (parsed.scheme === 'unix') return { socketPath: parsed.socketPath, display };
  if (parsed.scheme === 'tcp') {
    const port = parsed.port ?? (tls ? 2376 : 2375);
    if (!tls) return { host: parsed.host, port, display };
    return { host: parsed.host, port, display, dial: tlsDialer(parsed.host, port, tls, display) };
  }
  const settings = sshSettings(parsed, display, env, ssh);
  let dialer: import('./ssh.js').SshDialer | undefined;
  return {
    display,
    async dial(timeoutMs) {
      if (!dialer) {
        const { SshDialer } = await import('./ssh.js');
        dialer ??= new SshDialer(settings);
      }
      return dialer.dial(timeoutMs);
    },
  };
}

/** DOCKER_TLS_VERIFY (verify) or DOCKER_TLS (encrypt only), with ca/cert/key.pem from DOCKER_CERT_PATH. */
function tlsFromEnv(env: Env): TlsMaterial | undefined {
  const verify = Boolean(env.DOCKER_TLS_VERIFY?.trim());
  if (!verify && !env.DOCKER_TLS?.trim()) return undefined;
  const dir = env.DOCKER_CERT_PATH?.trim() || dockerConfigDir(env);
  const file = (name: string) => join(dir, name);
  if (verify && !existsSync(file('ca.pem'))) {
    throw new VnfpipeError('USAGE', `DOCKER_TLS_VERIFY is set but ${file('ca.pem')} does not exist`, {
      where: 'DOCKER_CERT_PATH',
      hint: 'DOCKER_CERT_PATH names the folder holding ca.pem, cert.pem and key.pem',
    });
  }
  const material: TlsMaterial = { verify, from: `DOCKER_CERT_PATH (${dir})` };
  if (existsSync(file('ca.pem'))) material.ca = readPem(file('ca.pem'), 'DOCKER_CERT_PATH');
  if (existsSync(file('cert.pem'))) material.cert = readPem(file('cert.pem'), 'DOCKER_CERT_PATH');
  if (existsSync(file('key.pem'))) material.key = readPem(file('key.pem'), 'DOCKER_CERT_PATH');
  return material;
}

function readPem(path: string, option: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new VnfpipeError('USAGE', `cannot read the TLS file ${path}`, {
      where: option,
      hint: (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file does not exist' : undefined,
      cause: error,
    });
  }
}

const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function tlsDialer(host: string, port: number, tls: TlsMaterial, display: string) {
  return (timeoutMs?: number): Promise<Duplex> =>
    new Promise((resolvePromise, reject) => {
      const socket = tlsConnect({
        host,
        port,
        ...(isIP(host) ? {} : { servername: host }),
        ...(tls.ca ? { ca: tls.ca } : {}),
        ...(tls.cert ? { cert: tls.cert } : {}),
        ...(tls.key ? { key: tls.key } : {}),
        rejectUnauthorized: tls.verify,
        ...(timeoutMs ? { timeout: timeoutMs } : {}),
      });
      const onError = (error: NodeJS.ErrnoException) => {
        socket.destroy();
        reject(tlsFailure(error, display, tls.from));
      };
      socket.once('error', onError);
      socket.once('secureConnect', () => {
        socket.off('error', onError);
        resolvePromise(socket);
      });
    });
}

/** A TLS error as the user can act on it: whose certificate, which material. */
export function tlsFailure(
  error: NodeJS.ErrnoException,
  display: string,
  from = 'the TLS settings',
): VnfpipeError {
  const code = error.code ?? '';
  if (UNTRUSTED.has(code)) {
    return new VnfpipeError(
      'ENGINE_UNREACHABLE',
      `the engine's TLS certificate is not trusted: ${error.message}`,
      {
        where: display,
        hint: `the CA from ${from} must be the one that signed the engine's certificate, and the certificate must name the host`,
        cause: error,
      },
    );
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || /alert|handshake/i.test(error.message)) {
    return new VnfpipeError(
      'ENGINE_UNREACHABLE',
      `the TLS handshake with the engine failed: ${error.message}`,
      {
        where: display,
        hint:
          code === 'ERR_SSL_WRONG_VERSION_NUMBER'
            ? 'the engine does not speak TLS there: drop DOCKER_TLS_VERIFY or check the port'
            : `the engine may want a client certificate signed by its CA (cert.pem and key.pem, from ${from})`,
        cause: error,
      },
    );
  }
  return new VnfpipeError('ENGINE_UNREACHABLE', `cannot reach the Docker engine: ${error.message}`, {
    where: display,
    hint: 'check the host and port, and that dockerd listens there (-H tcp://…)',
    cause: error,
  });
}

function sshSettings(
  parsed: { user?: string; host: string; port?: number },
  display: string,
  env: Env,
  options: EngineSshOptions,
): SshSettings {
  const home = env.HOME?.trim() || homedir();
  const named = options.identity ?? (env.VNFPIPE_SSH_KEY?.trim() || undefined);
  const identities = named
    ? [named]
    : ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((name) => join(home, '.ssh', name));
  const knownHosts = options.knownHosts ?? (env.VNFPIPE_SSH_KNOWN_HOSTS?.trim() || undefined);
  return {
    user: parsed.user ?? (env.USER?.trim() || userInfo().username),
    host: parsed.host,
    port: parsed.port ?? 22,
    display,
    ...(env.SSH_AUTH_SOCK?.trim() ? { agent: env.SSH_AUTH_SOCK.trim() } : {}),
    identities,
    namedIdentity: named !== undefined,
    ...(env.VNFPIPE_SSH_PASSPHRASE ? { passphrase: env.VNFPIPE_SSH_PASSPHRASE } : {}),
    knownHosts: knownHosts ? [knownHosts] : [join(home, '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'],
  };
}
