/**
 * `ssh://` engines, as the docker CLI reaches them: one SSH connection per engine, and per engine connection
 * a channel running `docker system dial-stdio` on the remote host, which splices it to the remote engine's
 * socket. The engine API (and BuildKit's upgraded `/grpc` and `/session` streams) then flow over the channel;
 * API connections are kept for reuse (client.ts), since each channel starts a process on the remote host.
 *
 * Keys: the SSH agent (SSH_AUTH_SOCK) first, then a key file (the engine's `ssh.identity`, VNFPIPE_SSH_KEY,
 * else ~/.ssh/id_ed25519, id_ecdsa, id_rsa); an encrypted key file needs VNFPIPE_SSH_PASSPHRASE.
 * Host keys: checked against known_hosts, strictly (OpenSSH's StrictHostKeyChecking=yes): an unknown host or
 * a changed key fails with the fingerprint and the command that adds it; nothing is added on its own.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import ssh2, { type AnyAuthMethod, type Client, type ClientChannel } from 'ssh2';

// ssh2 is CommonJS: Node's ESM loader sees only its default export.
const { Client: SshClient, utils } = ssh2;

import { VnfpipeError } from '../../errors.js';
import { hostKeyAlgorithms, type KnownHostKeys, knownHostsName, readKnownHosts } from './known-hosts.js';

export interface SshSettings {
  user: string;
  host: string;
  port: number;
  /** For messages: `ssh://deploy@10.0.0.5:22`. */
  display: string;
  /** The agent's socket (SSH_AUTH_SOCK). */
  agent?: string;
  /** Key files to offer after the agent, in order. */
  identities: string[];
  /** The identity was named (step option or VNFPIPE_SSH_KEY): it must exist. */
  namedIdentity: boolean;
  passphrase?: string;
  knownHosts: string[];
}

const HANDSHAKE_TIMEOUT_MS = 20_000;

/** Opens engine connections over one shared SSH connection; idle, it does not keep the process alive. */
export class SshDialer {
  private client: Promise<{ client: Client; socket: Socket }> | undefined;
  /** Channels open or being opened. */
  private inUse = 0;

  constructor(private readonly settings: SshSettings) {}

  async dial(timeoutMs?: number): Promise<Duplex> {
    // Counted from the start: a dial waiting for its channel keeps the connection (and the process) alive
    // even when another channel closes meanwhile.
    this.inUse += 1;
    let socket: Socket | undefined;
    try {
      const connection = await this.connection();
      socket = connection.socket;
      socket.ref();
      const channel = await new Promise<ClientChannel>((resolve, reject) => {
        connection.client.exec('docker system dial-stdio', (error, opened) => {
          if (error) {
            reject(
              this.failure(`cannot start 'docker system dial-stdio' there: ${error.message}`, error, [
                'the SSH user needs a shell that may run the docker CLI',
              ]),
            );
          } else resolve(opened);
        });
      });
      // A channel keeps the SSH connection (and the process) alive while it is referenced: an HTTP agent
      // unrefs the engine connections it keeps for reuse, and refs one again when a request takes it.
      const tcp = socket;
      let held = true;
      let closed = false;
      channel.on('close', () => {
        closed = true;
        if (held) this.release(tcp);
        held = false;
      });
      return asSocket(channel, this.settings.display, timeoutMs, {
        ref: () => {
          if (held || closed) return;
          held = true;
          this.inUse += 1;
          tcp.ref();
        },
        unref: () => {
          if (!held) return;
          held = false;
          this.release(tcp);
        },
      });
    } catch (error) {
      this.release(socket);
      throw error;
    }
  }

  /** Idle (no channel open or opening), the SSH connection lets the process end. */
  private release(socket: Socket | undefined): void {
    this.inUse -= 1;
    if (this.inUse === 0) socket?.unref();
  }

  /** Ends the SSH connection (open channels close with it). */
  close(): void {
    const current = this.client;
    this.client = undefined;
    current?.then(({ client }) => client.end()).catch(() => {});
  }

  private connection(): Promise<{ client: Client; socket: Socket }> {
    if (!this.client) {
      const opening = this.connect(() => {
        // A dropped connection is opened anew by the next dial.
        if (this.client === opening) this.client = undefined;
      });
      this.client = opening;
      opening.catch(() => {
        if (this.client === opening) this.client = undefined;
      });
    }
    return this.client;
  }

  private async connect(onDrop: () => void): Promise<{ client: Client; socket: Socket }> {
    const { user, host, port } = this.settings;
    const known = readKnownHosts(this.settings.knownHosts, host, port);
    const auth = this.authMethods();
    const socket = await this.tcp();
    const client = new SshClient();
    let hostProblem: VnfpipeError | undefined;
    const tried: string[] = [];
    return new Promise((resolve, reject) => {
      const fail = (error: Error & { level?: string }) => {
        socket.destroy();
        if (hostProblem) return reject(hostProblem);
        if (error.level === 'client-authentication') {
          const offered = [...tried, ...auth.skipped];
          return reject(
            this.failure(
              `SSH authentication as '${user}' failed${offered.length ? ` (offered: ${offered.join(', ')})` : ' (no key to offer)'}`,
              undefined,
              [
                'load the key into ssh-agent (SSH_AUTH_SOCK), or name it: the engine’s ssh.identity or VNFPIPE_SSH_KEY',
                'its public half must be in the remote user’s authorized_keys',
              ],
            ),
          );
        }
        if (error.level === 'client-timeout') {
          return reject(this.failure('no SSH handshake within 20s', error, []));
        }
        reject(this.failure(`SSH: ${error.message}`, error, []));
      };
      client.once('error', fail);
      client.once('ready', () => {
        client.off('error', fail);
        // Later errors (a dropped connection) fail the channels in use; the next dial reconnects.
        client.on('error', onDrop);
        client.once('close', onDrop);
        resolve({ client, socket });
      });
      const queue = [...auth.methods];
      client.connect({
        sock: socket,
        username: user,
        readyTimeout: HANDSHAKE_TIMEOUT_MS,
        ...(known.keys.length
          ? { algorithms: { serverHostKey: hostKeyAlgorithms(known.keys) as never } }
          : {}),
        hostVerifier: (key: Buffer) => {
          hostProblem = this.checkHostKey(key, known);
          return hostProblem === undefined;
        },
        authHandler: (_left, _partial, next) => {
          const method = queue.shift();
          if (!method) return next(false as never);
          tried.push(method.label);
          next(method.method);
        },
      });
    });
  }

  private tcp(): Promise<Socket> {
    const { host, port } = this.settings;
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host, port });
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        // ssh2 reports socket errors itself from here on.
        resolve(socket);
      });
      socket.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new VnfpipeError('ENGINE_UNREACHABLE', `cannot reach the SSH server: ${error.message}`, {
            where: this.settings.display,
            hint: 'check the host and port of the ssh:// address, and that sshd runs there',
            cause: error,
          }),
        ),
      );
    });
  }

  /** The agent, then each usable key file; unusable ones are named (never shown) in the error. */
  private authMethods(): { methods: Array<{ label: string; method: AnyAuthMethod }>; skipped: string[] } {
    const { user, agent, identities, namedIdentity, passphrase } = this.settings;
    const methods: Array<{ label: string; method: AnyAuthMethod }> = [];
    const skipped: string[] = [];
    if (agent) methods.push({ label: 'ssh-agent', method: { type: 'agent', username: user, agent } });
    for (const file of identities) {
      if (!existsSync(file)) {
        if (namedIdentity) {
          throw new VnfpipeError('USAGE', `the SSH key file does not exist`, {
            where: file,
            hint: 'the engine’s ssh.identity or VNFPIPE_SSH_KEY names a private key file',
          });
        }
        continue;
      }
      const data = readFileSync(file);
      const parsed = utils.parseKey(data, passphrase);
      if (parsed instanceof Error) {
        const encrypted = /encrypted|passphrase|decrypt/i.test(parsed.message);
        skipped.push(
          encrypted
            ? `${file} (encrypted: set VNFPIPE_SSH_PASSPHRASE or add it to ssh-agent)`
            : `${file} (not a key ssh2 can read)`,
        );
        continue;
      }
      methods.push({
        label: file,
        method: { type: 'publickey', username: user, key: data, ...(passphrase ? { passphrase } : {}) },
      });
    }
    return { methods, skipped };
  }

  private checkHostKey(key: Buffer, known: KnownHostKeys): VnfpipeError | undefined {
    const fingerprint = `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
    const { host, port } = this.settings;
    const name = knownHostsName(host, port);
    const files = this.settings.knownHosts.join(', ');
    if (known.revoked.some((k) => k.blob.equals(key))) {
      return this.failure(`the host key of ${name} (${fingerprint}) is revoked in known_hosts`, undefined, [
        files,
      ]);
    }
    if (known.keys.some((k) => k.blob.equals(key))) return undefined;
    const scan = `ssh-keyscan${port === 22 ? '' : ` -p ${port}`} ${host} >> ~/.ssh/known_hosts`;
    if (known.keys.length) {
      const where = known.keys.map((k) => `${k.file}:${k.line}`).join(', ');
      return this.failure(
        `the host key of ${name} (${fingerprint}) does not match known_hosts (${where}): the host changed or someone is in between`,
        undefined,
        ['if the host was reinstalled, remove its old line and check the new fingerprint out of band'],
      );
    }
    return this.failure(
      `${name} is not a known host (its key: ${fingerprint}); known_hosts read: ${files || 'none'}`,
      undefined,
      [
        `check the fingerprint out of band, then add it: ${scan} (or VNFPIPE_SSH_KNOWN_HOSTS / the engine’s ssh.knownHosts names another file)`,
      ],
    );
  }

  private failure(message: string, cause: unknown, hints: string[]): VnfpipeError {
    return new VnfpipeError('ENGINE_UNREACHABLE', message, {
      where: this.settings.display,
      ...(hints.length ? { hint: hints.join('; ') } : {}),
      ...(cause ? { cause } : {}),
    });
  }
}

/**
 * Gives an SSH channel what node:http and node:http2 ask of a socket (idle timeouts, no-op socket options),
 * and turns a `docker system dial-stdio` that fails remotely into an error that says why, instead of a bare
 * "socket hang up".
 */
function asSocket(
  channel: ClientChannel,
  display: string,
  timeoutMs: number | undefined,
  hold: { ref(): void; unref(): void },
): Duplex {
  let stderr = '';
  let received = 0;
  let exitCode: number | undefined;
  let eof = false;
  let ended = false;
  let idleMs = 0;
  let idle: NodeJS.Timeout | undefined;
  const touch = () => {
    if (idle) clearTimeout(idle);
    idle = idleMs > 0 ? setTimeout(() => channel.emit('timeout'), idleMs) : undefined;
    idle?.unref();
  };
  channel.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 4096) stderr += chunk.toString('utf8');
  });
  const push = channel.push.bind(channel);
  // The end of the stream waits for the exit status (which OpenSSH may send before or after EOF): a failed
  // dial-stdio fails the request with its stderr rather than a bare "socket hang up".
  const settle = () => {
    if (!eof || exitCode === undefined || ended) return;
    ended = true;
    if (exitCode === 0 || received > 0) {
      push(null);
      return;
    }
    const said = stderr.trim();
    // ssh2's Channel.destroy() takes no error: emit it for node:http, then close the channel.
    channel.emit(
      'error',
      new VnfpipeError(
        'ENGINE_UNREACHABLE',
        `'docker system dial-stdio' failed on the SSH host (exit ${exitCode})${said ? `: ${said}` : ''}`,
        {
          where: display,
          hint: 'the remote user needs the docker CLI and access to the engine there (its DOCKER_HOST or /var/run/docker.sock)',
        },
      ),
    );
    channel.destroy();
  };
  channel.push = (chunk: unknown, encoding?: BufferEncoding) => {
    touch();
    if (chunk !== null) {
      received += (chunk as Buffer).length;
      return push(chunk, encoding);
    }
    // A second end is the channel closing: no exit status is coming.
    if (eof) exitCode ??= 0;
    eof = true;
    settle();
    return false;
  };
  channel.on('exit', (code: number | null) => {
    exitCode = code ?? 0;
    settle();
  });
  channel.on('close', () => {
    if (idle) clearTimeout(idle);
  });
  const write = channel.write.bind(channel) as (...args: unknown[]) => boolean;
  (channel as unknown as { write: (...args: unknown[]) => boolean }).write = (...args: unknown[]) => {
    touch();
    return write(...args);
  };
  const socketLike = channel as unknown as Record<string, unknown>;
  socketLike.setTimeout = (ms: number, callback?: () => void) => {
    idleMs = ms;
    if (callback) channel.once('timeout', callback);
    touch();
    return channel;
  };
  for (const noop of ['setNoDelay', 'setKeepAlive']) socketLike[noop] = () => channel;
  socketLike.ref = () => {
    hold.ref();
    return channel;
  };
  socketLike.unref = () => {
    hold.unref();
    return channel;
  };
  if (timeoutMs) (socketLike.setTimeout as (ms: number) => void)(timeoutMs);
  return channel;
}
