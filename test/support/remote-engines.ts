/**
 * Remote engines for tests, each a real extra dockerd (extra-engine.ts): one listening on TLS `tcp://` with
 * certificates made by openssl, one behind an sshd of the test's own (127.0.0.1, free port, its own host key,
 * a test client key; `SetEnv DOCKER_HOST` points `docker system dial-stdio` at the extra engine), and docker
 * contexts written to a temporary DOCKER_CONFIG.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ExtraEngine, startExtraEngine } from './extra-engine.js';
import { freePort, waitFor as waitForValue } from './ports.js';
import { waitFor } from './wait.js';

/** A CA and the certificates it signed (EC P-256 PEM files in `dir`). */
export interface TestCa {
  dir: string;
  ca: string;
  /** Server certificate for 127.0.0.1 (subjectAltName IP). */
  serverCert: string;
  serverKey: string;
  /** Client certificate (clientAuth). */
  clientCert: string;
  clientKey: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Makes a CA with a server certificate for 127.0.0.1 and a client certificate. */
export function makeCa(dir = mkdtempSync(join(tmpdir(), 'vnfpipe-ca-'))): TestCa {
  const key = (name: string) =>
    openssl(['ecparam', '-genkey', '-name', 'prime256v1', '-noout', '-out', name], dir);
  key('ca-key.pem');
  openssl(
    [
      'req',
      '-new',
      '-x509',
      '-key',
      'ca-key.pem',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=vnfpipe test CA',
    ],
    dir,
  );
  const sign = (name: string, subject: string, extensions: string) => {
    key(`${name}-key.pem`);
    openssl(['req', '-new', '-key', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', subject], dir);
    writeFileSync(join(dir, `${name}.ext`), extensions);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca-key.pem',
        '-CAcreateserial',
        '-out',
        `${name}.pem`,
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
      ],
      dir,
    );
  };
  sign('server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  sign('client', '/CN=vnfpipe test client', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server-key.pem'),
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client-key.pem'),
  };
}

/** A folder laid out as DOCKER_CERT_PATH wants it: ca.pem, cert.pem, key.pem. */
export function certPath(ca: TestCa): string {
  const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-certpath-'));
  writeFileSync(join(dir, 'ca.pem'), readFileSync(ca.ca));
  writeFileSync(join(dir, 'cert.pem'), readFileSync(ca.clientCert));
  writeFileSync(join(dir, 'key.pem'), readFileSync(ca.clientKey));
  return dir;
}

export interface TlsEngine {
  engine: ExtraEngine;
  /** `tcp://127.0.0.1:PORT`. */
  host: string;
  ca: TestCa;
  /** DOCKER_CERT_PATH for the client. */
  certPath: string;
}

/** An extra dockerd that also listens on TLS tcp:// and verifies client certificates. */
export async function startTlsEngine(): Promise<TlsEngine> {
  const ca = makeCa();
  const port = await freePort();
  const engine = await startExtraEngine({
    args: [
      '-H',
      `tcp://127.0.0.1:${port}`,
      '--tlsverify',
      '--tlscacert',
      ca.ca,
      '--tlscert',
      ca.serverCert,
      '--tlskey',
      ca.serverKey,
    ],
  });
  return { engine, host: `tcp://127.0.0.1:${port}`, ca, certPath: certPath(ca) };
}

export interface TestSshd {
  /** `ssh://root@127.0.0.1:PORT`. */
  host: string;
  port: number;
  /** The client key authorized_keys accepts, and one it does not. */
  clientKey: string;
  strangerKey: string;
  /** A known_hosts file that knows this sshd's host key. */
  knownHosts: string;
  stop(): Promise<void>;
}

function sshKey(path: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'vnfpipe-test', '-f', path], {
    stdio: 'ignore',
  });
}

/** An sshd on 127.0.0.1 whose sessions reach `engine` as their Docker engine (plus `setEnv`, `NAME=value`). */
export async function startSshd(engine: ExtraEngine, options: { setEnv?: string[] } = {}): Promise<TestSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-sshd-'));
  mkdirSync('/run/sshd', { recursive: true });
  for (const name of ['host', 'client', 'stranger']) sshKey(join(dir, name));
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client.pub')));
  const port = await freePort();
  const hostKey = readFileSync(join(dir, 'host.pub'), 'utf8').trim().split(/\s+/);
  writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostKey[0]} ${hostKey[1]}\n`);
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'StrictModes no',
      'UsePAM no',
      `SetEnv DOCKER_HOST=${engine.host}${(options.setEnv ?? []).map((v) => ` ${v}`).join('')}`,
      '',
    ].join('\n'),
  );
  const log = openSync(join(dir, 'sshd.log'), 'a');
  const child: ChildProcess = spawn(
    '/usr/sbin/sshd',
    ['-D', '-e', '-f', join(dir, 'sshd_config'), '-p', String(port)],
    {
      stdio: ['ignore', log, log],
    },
  );
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const listening = () =>
    new Promise<true | undefined>((resolve) => {
      if (exited) return resolve(true);
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(undefined));
    });
  await waitForValue(`sshd on 127.0.0.1:${port}`, listening, 30_000);
  if (exited) throw new Error(`sshd exited at start (its log: ${join(dir, 'sshd.log')})`);
  return {
    host: `ssh://root@127.0.0.1:${port}`,
    port,
    clientKey: join(dir, 'client'),
    strangerKey: join(dir, 'stranger'),
    knownHosts: join(dir, 'known_hosts'),
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        await waitFor('sshd to stop', () => exited, 10_000).catch(() => child.kill('SIGKILL'));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Writes a docker context into `configDir` (a DOCKER_CONFIG), as `docker context create NAME --docker
 * host=…,ca=…,cert=…,key=…` stores it.
 */
export function writeDockerContext(
  configDir: string,
  name: string,
  endpoint: { host: string; tls?: { ca: string; cert: string; key: string }; skipTlsVerify?: boolean },
): void {
  const id = createHash('sha256').update(name).digest('hex');
  const meta = join(configDir, 'contexts', 'meta', id);
  mkdirSync(meta, { recursive: true });
  writeFileSync(
    join(meta, 'meta.json'),
    JSON.stringify({
      Name: name,
      Metadata: {},
      Endpoints: { docker: { Host: endpoint.host, SkipTLSVerify: endpoint.skipTlsVerify ?? false } },
    }),
  );
  if (endpoint.tls) {
    const tls = join(configDir, 'contexts', 'tls', id, 'docker');
    mkdirSync(tls, { recursive: true });
    for (const file of ['ca', 'cert', 'key'] as const) {
      writeFileSync(join(tls, `${file}.pem`), readFileSync(endpoint.tls[file]));
    }
  }
}
