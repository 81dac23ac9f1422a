/**
 * Registries with authentication for tests, all on 127.0.0.1: htpasswd Basic auth over TLS (a test CA and a
 * server certificate with IP SAN 127.0.0.1, made with openssl), and Bearer token auth (distribution's
 * `auth.token` with a signing certificate, and a token endpoint served here that signs RS256 JWTs naming
 * their key by `x5c`, as distribution 2.8 accepts).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.js';
import { REGISTRY_BINARY } from './registry.js';

export interface AuthRegistry {
  host: string;
  port: number;
  storage: string;
  /** PEM of the CA that signed the TLS certificate (TLS setups). */
  caFile?: string;
  stop(): Promise<void>;
}

export interface TokenRegistry extends AuthRegistry {
  /** Scopes asked for, one entry per token request (space-joined), and whether credentials came along. */
  tokenRequests: Array<{ scopes: string; user?: string }>;
}

function run(command: string, args: string[], cwd: string): void {
  execFileSync(command, args, { cwd, stdio: 'ignore' });
}

/** A CA and a server certificate for 127.0.0.1 signed by it. */
export function makeTlsFiles(dir: string): { ca: string; cert: string; key: string } {
  run(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=vnfpipe test CA',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
    ],
    dir,
  );
  run(
    'openssl',
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=127.0.0.1',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
    ],
    dir,
  );
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
  run(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      'ext.cnf',
      '-out',
      'server.pem',
    ],
    dir,
  );
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server.key') };
}

async function spawnRegistry(
  root: string,
  port: number,
  extra: string[],
  tls?: { ca: string },
): Promise<{ child: ChildProcess; stop: () => Promise<void> }> {
  const storage = join(root, 'storage');
  const config = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storage}`,
    '  delete:',
    '    enabled: true',
    ...extra,
    '',
  ].join('\n');
  writeFileSync(join(root, 'config.yml'), config);
  const child = spawn(REGISTRY_BINARY, ['serve', join(root, 'config.yml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const agent = tls ? new Agent({ ca: readFileSync(tls.ca) }) : undefined;
  try {
    await waitFor(`registry on 127.0.0.1:${port}`, async () => {
      if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
      if (!agent)
        return (await fetch(`http://127.0.0.1:${port}/v2/`).catch(() => undefined)) ? true : undefined;
      return new Promise<true | undefined>((resolve) => {
        const req = request({ host: '127.0.0.1', port, path: '/v2/', agent }, (res) => {
          res.resume();
          resolve(true);
        });
        req.on('error', () => resolve(undefined));
        req.end();
      });
    });
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    agent?.destroy();
  }
  return {
    child,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(killer);
      }
    },
  };
}

/** htpasswd (bcrypt) Basic auth over TLS; `users` maps names to passwords. */
export async function startTlsBasicRegistry(users: Record<string, string>): Promise<AuthRegistry> {
  const root = mkdtempSync(join(tmpdir(), 'vnfpipe-registry-tls-'));
  const tls = makeTlsFiles(root);
  const htpasswd = join(root, 'htpasswd');
  writeFileSync(htpasswd, '');
  for (const [user, password] of Object.entries(users))
    run('htpasswd', ['-B', '-b', htpasswd, user, password], root);
  const port = await freePort();
  const registry = await spawnRegistry(
    root,
    port,
    [
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '  tls:',
      `    certificate: ${tls.cert}`,
      `    key: ${tls.key}`,
      'auth:',
      '  htpasswd:',
      '    realm: vnfpipe-test',
      `    path: ${htpasswd}`,
    ],
    { ca: tls.ca },
  );
  return {
    host: `127.0.0.1:${port}`,
    port,
    storage: join(root, 'storage'),
    caFile: tls.ca,
    async stop() {
      await registry.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** Bearer token auth: the registry trusts a signing certificate; a token endpoint here grants what it's asked. */
export async function startTokenRegistry(users: Record<string, string>): Promise<TokenRegistry> {
  const root = mkdtempSync(join(tmpdir(), 'vnfpipe-registry-token-'));
  run(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=vnfpipe token signer',
      '-keyout',
      'signer.key',
      '-out',
      'signer.pem',
    ],
    root,
  );
  const key = createPrivateKey(readFileSync(join(root, 'signer.key')));
  const certDer = new X509Certificate(readFileSync(join(root, 'signer.pem'))).raw;
  const service = 'vnfpipe-test-registry';
  const issuer = 'vnfpipe-test-issuer';
  const tokenRequests: TokenRegistry['tokenRequests'] = [];

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const scopes = url.searchParams.getAll('scope');
    let user: string | undefined;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ')) {
      const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const name = decoded.slice(0, colon);
      if (users[name] === undefined || users[name] !== decoded.slice(colon + 1)) {
        tokenRequests.push({ scopes: scopes.join(' '), user: `${name}(rejected)` });
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
        return;
      }
      user = name;
    }
    tokenRequests.push({ scopes: scopes.join(' '), ...(user ? { user } : {}) });
    const access = user
      ? scopes.flatMap((scope) => {
          const [type, ...rest] = scope.split(':');
          const actions = rest.pop() ?? '';
          return [{ type, name: rest.join(':'), actions: actions.split(',').filter(Boolean) }];
        })
      : [];
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', x5c: [certDer.toString('base64')] };
    const claims = {
      iss: issuer,
      sub: user ?? '',
      aud: service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString('hex'),
      access,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const token = `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`;
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const tokenPort = (server.address() as { port: number }).port;
  const port = await freePort();
  let registry: { stop: () => Promise<void> };
  try {
    registry = await spawnRegistry(root, port, [
      'http:',
      `  addr: 127.0.0.1:${port}`,
      'auth:',
      '  token:',
      `    realm: http://127.0.0.1:${tokenPort}/token`,
      `    service: ${service}`,
      `    issuer: ${issuer}`,
      `    rootcertbundle: ${join(root, 'signer.pem')}`,
    ]);
  } catch (error) {
    server.close();
    throw error;
  }
  return {
    host: `127.0.0.1:${port}`,
    port,
    storage: join(root, 'storage'),
    tokenRequests,
    async stop() {
      await registry.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
