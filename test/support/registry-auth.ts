/**
 * Registries with authentication for tests, all on 127.0.0.1: htpasswd Basic auth over TLS (a test CA and a
 * server certificate with IP SAN 127.0.0.1, made with openssl), and Bearer token auth (distribution's
 * `auth.token` with a signing certificate, and a token endpoint served here that signs RS256 JWTs naming
 * their key by `x5c`, as distribution 2.8 accepts).
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, type TestRegistry } from './registry.js';

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

/** `<name>.key` and a self-signed `<name>.pem` (2 days) in `dir`. */
function selfSigned(dir: string, commonName: string, name: string): void {
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
      `/CN=${commonName}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
    ],
    dir,
  );
}

/** A CA and a server certificate for 127.0.0.1 signed by it. */
export function makeTlsFiles(dir: string): { ca: string; cert: string; key: string } {
  selfSigned(dir, 'vnfpipe test CA', 'ca');
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

/** htpasswd (bcrypt) Basic auth over TLS; `users` maps names to passwords. */
export async function startTlsBasicRegistry(users: Record<string, string>): Promise<AuthRegistry> {
  const root = mkdtempSync(join(tmpdir(), 'vnfpipe-registry-tls-'));
  const tls = makeTlsFiles(root);
  const htpasswd = join(root, 'htpasswd');
  writeFileSync(htpasswd, '');
  for (const [user, password] of Object.entries(users))
    run('htpasswd', ['-B', '-b', htpasswd, user, password], root);
  const registry = await startRegistry({
    tls: { certificate: tls.cert, key: tls.key, ca: tls.ca },
    extraConfig: ['auth:', '  htpasswd:', '    realm: vnfpipe-test', `    path: ${htpasswd}`].join('\n'),
  });
  return {
    host: registry.host,
    port: registry.port,
    storage: registry.storage,
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
  selfSigned(root, 'vnfpipe token signer', 'signer');
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
  let registry: TestRegistry;
  try {
    registry = await startRegistry({
      extraConfig: [
        'auth:',
        '  token:',
        `    realm: http://127.0.0.1:${tokenPort}/token`,
        `    service: ${service}`,
        `    issuer: ${issuer}`,
        `    rootcertbundle: ${join(root, 'signer.pem')}`,
      ].join('\n'),
    });
  } catch (error) {
    server.close();
    throw error;
  }
  return {
    host: registry.host,
    port: registry.port,
    storage: registry.storage,
    tokenRequests,
    async stop() {
      await registry.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
