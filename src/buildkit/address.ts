/**
 * Where BuildKit is: the Docker engine's embedded BuildKit (`docker://`, or the engine's own unix socket) or
 * a standalone buildkitd (`unix://`, `tcp://` with mTLS). Parsed from `BUILDKIT_HOST` or an option.
 */
import { VnfpipeError } from '../errors.js';

export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

export type BuildkitAddress =
  | { kind: 'engine'; socketPath?: string; host?: string; port?: number; display: string }
  | { kind: 'unix'; socketPath: string; display: string }
  | { kind: 'tcp'; host: string; port: number; tls?: TlsFiles; display: string };

const ENGINE_SOCKET = '/var/run/docker.sock';

/**
 * `docker://` (DOCKER_HOST or the default socket), `docker://unix:///path`, `docker://tcp://h:p`,
 * `unix:///var/run/docker.sock` (an engine socket: named docker.sock), `unix:///run/buildkit/buildkitd.sock`,
 * `tcp://host:port`.
 */
export function parseBuildkitAddress(
  value: string | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
  tls?: TlsFiles,
): BuildkitAddress {
  const text = value?.trim() || 'docker://';
  if (text === 'docker://' || text === 'docker') {
    const dockerHost = env.DOCKER_HOST?.trim();
    return dockerHost
      ? engineAt(dockerHost, text)
      : { kind: 'engine', socketPath: ENGINE_SOCKET, display: text };
  }
  if (text.startsWith('docker://')) return engineAt(text.slice('docker://'.length), text);
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
  throw bad(text, 'expected docker://, unix:///PATH or tcp://HOST:PORT');
}

function engineAt(dockerHost: string, display: string): BuildkitAddress {
  if (dockerHost.startsWith('unix://')) {
    return { kind: 'engine', socketPath: dockerHost.slice('unix://'.length), display };
  }
  const tcp = /^tcp:\/\/([^:/]+)(?::(\d+))?\/?$/.exec(dockerHost);
  if (tcp) return { kind: 'engine', host: tcp[1]!, port: Number(tcp[2] ?? 2375), display };
  throw bad(display, `engine address '${dockerHost}' is neither unix://PATH nor tcp://HOST:PORT`);
}

function bad(text: string, why: string): VnfpipeError {
  return new VnfpipeError('USAGE', `BuildKit address '${text}': ${why}`, { where: 'BUILDKIT_HOST' });
}
