/**
 * Where BuildKit is: the Docker engine's embedded BuildKit (`docker://`, or the engine's own unix socket) or
 * a standalone buildkitd (`unix://`, `tcp://` with mTLS). Parsed from `BUILDKIT_HOST` or an option.
 */
import { type EngineEndpoint, resolveEngine } from '../deploy/engine/endpoint.js';
import { VnfpipeError } from '../errors.js';

export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

export type BuildkitAddress =
  /** An engine reached as the deploy targets reach it: unix, tcp, TLS, ssh, or a docker context. */
  | ({ kind: 'engine' } & EngineEndpoint)
  | { kind: 'unix'; socketPath: string; display: string }
  | { kind: 'tcp'; host: string; port: number; tls?: TlsFiles; display: string };

/**
 * `docker://` (the environment's engine: DOCKER_HOST, DOCKER_CONTEXT, currentContext, the default socket),
 * `docker://unix:///path`, `docker://tcp://h:p` (TLS from DOCKER_TLS_VERIFY), `docker://ssh://user@host`,
 * `unix:///var/run/docker.sock` (an engine socket: named docker.sock), `unix:///run/buildkit/buildkitd.sock`,
 * `tcp://host:port`.
 */
export function parseBuildkitAddress(
  value: string | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
  tls?: TlsFiles,
): BuildkitAddress {
  const text = value?.trim() || 'docker://';
  if (text === 'docker://' || text === 'docker') return { kind: 'engine', ...resolveEngine({}, env) };
  if (text.startsWith('docker://')) return engineAt(text.slice('docker://'.length), text, env);
  if (text.startsWith('unix://')) {
    const socketPath = text.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw bad(text, 'unix:// needs an absolute socket path');
    // A Docker engine socket speaks HTTP, not gRPC: its BuildKit is reached through /grpc.
    if (socketPath.endsWith('/docker.sock')) return { kind: 'engine', socketPath, display: text };
    return { kind: 'unix', socketPath, display: text };
  }
  const tcp = /^tcp:\/\/([^:/]+):(\d+)\/?$/.exec(text);
  if (tcp) {
    const address: BuildkitAddress = { kind: 'tcp', host: tcp[1]!, port: Number(tcp[2]), display: text };
    if (tls && (tls.ca || tls.cert || tls.key)) {
      if (!tls.cert !== !tls.key) throw bad(text, '--tlscert and --tlskey go together');
      address.tls = tls;
    }
    return address;
  }
  throw bad(text, 'expected docker://[ENGINE], unix:///PATH or tcp://HOST:PORT');
}

function engineAt(dockerHost: string, display: string, env: Readonly<Record<string, string | undefined>>) {
  try {
    return { kind: 'engine' as const, ...resolveEngine({ engine: dockerHost }, env), display };
  } catch (error) {
    throw bad(display, (error as Error).message);
  }
}

function bad(text: string, why: string): VnfpipeError {
  return new VnfpipeError('USAGE', `BuildKit address '${text}': ${why}`, { where: 'BUILDKIT_HOST' });
}
