import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginCommand, logoutCommand, pullCommand, pushCommand } from '../../src/cli/registry.js';
import { parseReference } from '../../src/oci/reference.js';
import { Authenticator } from '../../src/registry/auth/authenticator.js';
import { copyImage } from '../../src/registry/copy.js';
import { Transport } from '../../src/registry/transport.js';
import { capture } from '../support/capture.js';
import { layoutDigest, makeBaseLayout } from '../support/images.js';
import { CLI } from '../support/project.js';
import {
  type AuthRegistry,
  startTlsBasicRegistry,
  startTokenRegistry,
  type TokenRegistry,
} from '../support/registry-auth.js';

const PASSWORD = 'pw-Zq8v1-not-in-output';
const WRONG = 'wrong-Kx93-not-in-output';

function expectNoSecret(text: string, ...secrets: string[]) {
  for (const secret of secrets) {
    expect(text).not.toContain(secret);
    expect(text).not.toContain(Buffer.from(`alice:${secret}`).toString('base64'));
    expect(text).not.toContain(Buffer.from(`bob:${secret}`).toString('base64'));
  }
}

/** The built CLI (npm run build first), with `stdin` written to its standard input. */
function cli(
  args: string[],
  stdin: string,
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
    child.stdin.end(stdin);
  });
}

let tmp: string;
let layout: string;
let digest: string;
const savedEnv = { ...process.env };

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'vnfpipe-reg-auth-'));
  layout = makeBaseLayout(join(tmp, 'base'));
  digest = layoutDigest(layout, 'latest');
  process.env.DOCKER_CONFIG = join(tmp, 'docker');
  delete process.env.VNFPIPE_REGISTRY_USERNAME;
  delete process.env.VNFPIPE_REGISTRY_PASSWORD;
  delete process.env.VNFPIPE_REGISTRY_TOKEN;
});
afterAll(() => {
  process.env = savedEnv;
  rmSync(tmp, { recursive: true, force: true });
});

describe('htpasswd Basic auth over TLS with a test CA', () => {
  let registry: AuthRegistry;
  beforeAll(async () => {
    registry = await startTlsBasicRegistry({ alice: PASSWORD });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('pushes with explicit credentials and a CA from SSL_CERT_FILE', async () => {
    const result = await copyImage(
      parseReference(`oci:${layout}:latest`),
      parseReference(`${registry.host}/tls/app:1`),
      {
        registries: {
          default: {
            credentials: { kind: 'basic', username: 'alice', password: PASSWORD },
            env: { SSL_CERT_FILE: registry.caFile },
          },
        },
      },
    );
    expect(result.digest).toBe(digest);
  });

  it('fails with "authentication failed" and exit 1 on a wrong password, printing no credentials', async () => {
    const run = await capture(() =>
      pushCommand(`oci:${layout}:latest`, `${registry.host}/tls/app:2`, {
        creds: `alice:${WRONG}`,
        caFile: registry.caFile,
      }),
    );
    expect(run.code).toBe(1);
    expect(run.err).toContain(`authentication failed for ${registry.host}`);
    expectNoSecret(run.out + run.err, WRONG, PASSWORD);
    process.env.VNFPIPE_DEBUG = '1';
    try {
      const debug = await capture(() =>
        pullCommand(`${registry.host}/tls/app:1`, `oci:${join(tmp, 'never')}:x`, {
          creds: `alice:${WRONG}`,
          caFile: registry.caFile,
        }),
      );
      expect(debug.code).toBe(1);
      expectNoSecret(debug.out + debug.err, WRONG, PASSWORD);
    } finally {
      delete process.env.VNFPIPE_DEBUG;
    }
  });

  it('refuses an unknown CA', async () => {
    const run = await capture(() =>
      pushCommand(`oci:${layout}:latest`, `${registry.host}/tls/app:3`, { creds: `alice:${PASSWORD}` }),
    );
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/cannot reach the registry \((SELF_SIGNED|UNABLE_TO|DEPTH_ZERO)/);
    expect(run.err).toMatch(/hint: check the TLS settings.*--ca-file/);
  });

  it('logs in and out through config.json, like docker', async () => {
    const configFile = join(tmp, 'docker', 'config.json');
    const bad = await capture(() =>
      loginCommand(registry.host, { username: 'alice', password: WRONG, caFile: registry.caFile }),
    );
    expect(bad.code).toBe(1);
    expect(bad.err).toContain(`authentication failed for ${registry.host}`);
    const login = await capture(() =>
      loginCommand(registry.host, { username: 'alice', password: PASSWORD, caFile: registry.caFile }),
    );
    expect(login.code).toBe(0);
    const config = JSON.parse(readFileSync(configFile, 'utf8'));
    expect(config.auths[registry.host].auth).toBe(Buffer.from(`alice:${PASSWORD}`).toString('base64'));
    const pushed = await capture(() =>
      pushCommand(`oci:${layout}:latest`, `${registry.host}/tls/app:4`, { caFile: registry.caFile }),
    );
    expect(pushed.code).toBe(0);
    expect(pushed.out).toContain(`@${digest}`);
    expect((await capture(() => logoutCommand(registry.host))).code).toBe(0);
    expect(JSON.parse(readFileSync(configFile, 'utf8')).auths[registry.host]).toBeUndefined();
    const anonymous = await capture(() =>
      pushCommand(`oci:${layout}:latest`, `${registry.host}/tls/app:5`, { caFile: registry.caFile }),
    );
    expect(anonymous.code).toBe(1);
  });

  it('warns when a secret is on the command line, and takes it from standard input instead', async () => {
    const ca = ['--ca-file', registry.caFile!];
    const insecureWarning = 'Using --password via the CLI is insecure. Use --password-stdin.';
    const withFlag = await cli(['login', registry.host, '-u', 'alice', '-p', PASSWORD, ...ca], '');
    expect(withFlag.err).toContain(insecureWarning);
    expect(withFlag.code).toBe(0);
    expect((await cli(['logout', registry.host], '')).code).toBe(0);

    const fromStdin = await cli(
      ['login', registry.host, '-u', 'alice', '--password-stdin', ...ca],
      `${PASSWORD}\n`,
    );
    expect(fromStdin.err).not.toContain('insecure');
    expect(fromStdin.code).toBe(0);
    expect(fromStdin.out).toContain('Login Succeeded');
    expect((await cli(['logout', registry.host], '')).code).toBe(0);

    const src = `oci:${layout}:latest`;
    const creds = await cli(
      ['push', src, `${registry.host}/tls/cli:1`, '--creds', `alice:${PASSWORD}`, ...ca],
      '',
    );
    expect(creds.err).toContain('Using --creds via the CLI is insecure. Use --creds-stdin');
    expect(creds.err).toContain('VNFPIPE_REGISTRY_PASSWORD');
    expect(creds.code).toBe(0);
    const credsStdin = await cli(
      ['push', src, `${registry.host}/tls/cli:2`, '--creds-stdin', ...ca],
      `alice:${PASSWORD}\n`,
    );
    expect(credsStdin.err).not.toContain('insecure');
    expect(credsStdin.code).toBe(0);
    expect(credsStdin.out).toContain(`@${digest}`);
    const wrong = await cli(
      ['push', src, `${registry.host}/tls/cli:3`, '--creds-stdin', ...ca],
      `alice:${WRONG}`,
    );
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain(`authentication failed for ${registry.host}`);
    expectNoSecret(withFlag.err + fromStdin.out + creds.err + credsStdin.err + wrong.err, PASSWORD, WRONG);
  });

  it('stores and reads credentials through a credential helper (credHelpers)', async () => {
    const bin = join(tmp, 'bin');
    mkdirSync(bin, { recursive: true });
    const store = join(tmp, 'helper-store.json');
    writeFileSync(
      join(bin, 'docker-credential-vnftest'),
      `#!/bin/sh\ncase "$1" in\n  store) cat > "${store}" ;;\n  get) cat > /dev/null; if [ -f "${store}" ]; then cat "${store}"; else echo "credentials not found in native keychain"; exit 1; fi ;;\n  erase) cat > /dev/null; rm -f "${store}" ;;\nesac\n`,
    );
    chmodSync(join(bin, 'docker-credential-vnftest'), 0o755);
    process.env.PATH = `${bin}:${savedEnv.PATH}`;
    writeFileSync(
      join(tmp, 'docker', 'config.json'),
      JSON.stringify({ credHelpers: { [registry.host]: 'vnftest' }, other: 1 }),
    );
    const login = await capture(() =>
      loginCommand(registry.host, { username: 'alice', password: PASSWORD, caFile: registry.caFile }),
    );
    expect(login.code).toBe(0);
    expect(JSON.parse(readFileSync(store, 'utf8'))).toMatchObject({
      ServerURL: registry.host,
      Username: 'alice',
      Secret: PASSWORD,
    });
    const config = JSON.parse(readFileSync(join(tmp, 'docker', 'config.json'), 'utf8'));
    expect(config.other).toBe(1);
    expect(JSON.stringify(config)).not.toContain(Buffer.from(`alice:${PASSWORD}`).toString('base64'));
    const pushed = await capture(() =>
      pushCommand(`oci:${layout}:latest`, `${registry.host}/tls/helper:1`, { caFile: registry.caFile }),
    );
    expect(pushed.code).toBe(0);
    expect((await capture(() => logoutCommand(registry.host))).code).toBe(0);
    expect(() => readFileSync(store)).toThrow();
  });
});

describe('Bearer token auth (auth.token with a test token service)', () => {
  let registry: TokenRegistry;
  beforeAll(async () => {
    registry = await startTokenRegistry({ bob: PASSWORD });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('pushes, upgrading the token from pull to push, mounts with a two-repository scope, and pulls', async () => {
    const credentials = { kind: 'basic' as const, username: 'bob', password: PASSWORD };
    const registries = { default: { credentials } };
    const result = await copyImage(
      parseReference(`oci:${layout}:latest`),
      parseReference(`${registry.host}/tok/app:1`),
      { registries },
    );
    expect(result.digest).toBe(digest);
    const scopes = registry.tokenRequests.map((r) => r.scopes);
    expect(scopes).toContain('repository:tok/app:pull');
    expect(scopes).toContain('repository:tok/app:pull,push');
    expect(registry.tokenRequests.every((r) => r.user === 'bob' || r.scopes === '')).toBe(true);

    const mounted = await copyImage(
      parseReference(`${registry.host}/tok/app:1`),
      parseReference(`${registry.host}/tok/other:1`),
      { registries },
    );
    expect(mounted.blobs.mounted).toBe(2);
    expect(registry.tokenRequests.map((r) => r.scopes)).toContain(
      'repository:tok/app:pull repository:tok/other:pull,push',
    );

    const pulled = await copyImage(
      parseReference(`${registry.host}/tok/other:1`),
      parseReference(`oci:${join(tmp, 'tok-pull')}:x`),
      { registries },
    );
    expect(pulled.digest).toBe(digest);
  });

  it('refuses a plain-HTTP token realm on another host unless the registry is on loopback, sending nothing', async () => {
    // The test registry's own challenge names its plain-HTTP token service on 127.0.0.1.
    const challenge = (await fetch(`http://${registry.host}/v2/`)).headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/realm="http:\/\/127\.0\.0\.1:\d+\/token"/);
    const transport = new Transport();
    const authenticator = (registryName: string, insecure: boolean) => {
      const auth = new Authenticator({
        registry: registryName,
        transport,
        insecure,
        credentials: async () => ({ kind: 'basic', username: 'bob', password: PASSWORD }),
      });
      auth.learn(challenge);
      return auth;
    };
    try {
      const before = registry.tokenRequests.length;
      // A registry off loopback (never contacted: .invalid) whose realm is plain HTTP elsewhere: even insecure.
      for (const insecure of [false, true]) {
        const refused = await authenticator('registry.vnfpipe.invalid', insecure)
          .header(['repository:tok/app:pull'])
          .catch((error: unknown) => error);
        expect(refused).toMatchObject({ code: 'REGISTRY_AUTH' });
        expect((refused as Error).message).toContain('plain-HTTP token service');
        expect((refused as Error).message).toContain('another host');
        expectNoSecret(JSON.stringify(refused) + String(refused), PASSWORD);
      }
      // A loopback registry naming a plain-HTTP realm off loopback: refused too (learned, never contacted).
      const local = authenticator(registry.host, false);
      local.learn('Bearer realm="http://auth.vnfpipe.invalid/token",service="x"');
      await expect(local.header(['repository:tok/app:pull'])).rejects.toMatchObject({
        code: 'REGISTRY_AUTH',
      });
      expect(registry.tokenRequests.length).toBe(before);
      // The same realm for a loopback registry is a local setup: allowed.
      const header = await authenticator(registry.host, false).header(['repository:tok/app:pull']);
      expect(header).toMatch(/^Bearer /);
      expect(registry.tokenRequests.at(-1)?.user).toBe('bob');
    } finally {
      transport.close();
    }
  });

  it('reports a wrong password as an authentication failure without credentials', async () => {
    const run = await capture(() =>
      pushCommand(`oci:${layout}:latest`, `${registry.host}/tok/app:2`, { creds: `bob:${WRONG}` }),
    );
    expect(run.code).toBe(1);
    expect(run.err).toContain(`authentication failed for ${registry.host}`);
    expectNoSecret(run.out + run.err, WRONG, PASSWORD);
  });
});
