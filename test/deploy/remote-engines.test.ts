/**
 * Remote engines as the docker CLI reaches them, each a real extra dockerd: TLS tcp:// (DOCKER_TLS_VERIFY +
 * DOCKER_CERT_PATH, or a step's tls files), ssh:// through a real sshd and `docker system dial-stdio`, and
 * docker contexts. The engine API, a streamed image load and BuildKit's hijacked /grpc go over each.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBuildkitAddress } from '../../src/buildkit/address.js';
import { BuildkitClient } from '../../src/buildkit/client.js';
import { buildDockerfile } from '../../src/buildkit/dockerfile.js';
import { loadLayoutImage } from '../../src/deploy/docker/load.js';
import { DockerEngine } from '../../src/deploy/engine/client.js';
import { type EngineChoice, resolveEngine } from '../../src/deploy/engine/endpoint.js';
import { VnfpipeError } from '../../src/errors.js';
import { requireDocker } from '../support/docker.js';
import { busyboxLayout } from '../support/engine-images.js';
import {
  makeCa,
  startSshd,
  startTlsEngine,
  type TestSshd,
  type TlsEngine,
  writeDockerContext,
} from '../support/remote-engines.js';

let tls: TlsEngine;
let sshd: TestSshd;
const home = mkdtempSync(join(tmpdir(), 'vnfpipe-remote-home-'));
/** No agent, no ~/.ssh, no docker config of the machine's user: only what a case gives. */
const clean = { HOME: home, PATH: process.env.PATH };

beforeAll(async () => {
  requireDocker();
  tls = await startTlsEngine();
  sshd = await startSshd(tls.engine);
}, 120_000);
afterAll(async () => {
  await sshd?.stop();
  await tls?.engine.stop();
}, 60_000);

const rootDir = async (choice: EngineChoice, env: Record<string, string | undefined>) => {
  const engine = new DockerEngine(resolveEngine(choice, env, '/'));
  return (await engine.json<{ DockerRootDir: string }>({ path: '/info' })).DockerRootDir;
};
const failure = async (promise: Promise<unknown>): Promise<VnfpipeError> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VnfpipeError);
  return error as VnfpipeError;
};

describe('TLS tcp:// engine', () => {
  it('is reached with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, as the docker CLI reaches it', async () => {
    const env = { ...clean, DOCKER_HOST: tls.host, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: tls.certPath };
    expect(await rootDir({}, env)).toBe(`${tls.engine.dir}/data`);
  });

  it("is reached with a step's tls files", async () => {
    const engine = { host: tls.host, tls: { ca: tls.ca.ca, cert: tls.ca.clientCert, key: tls.ca.clientKey } };
    expect(await rootDir({ engine }, clean)).toBe(`${tls.engine.dir}/data`);
  });

  it('refuses an engine whose certificate another CA signed, naming the engine; no key in the error', async () => {
    const other = makeCa();
    const engine = { host: tls.host, tls: { ca: other.ca, cert: tls.ca.clientCert, key: tls.ca.clientKey } };
    const error = await failure(rootDir({ engine }, clean));
    expect(error.code).toBe('ENGINE_UNREACHABLE');
    expect(error.message).toMatch(/TLS certificate is not trusted/);
    expect(error.where).toBe(tls.host);
    expect(error.describe()).not.toContain(readFileSync(tls.ca.clientKey, 'utf8').split('\n')[1]!);
  });

  it('says the engine wants a client certificate when none is given', async () => {
    const error = await failure(rootDir({ engine: { host: tls.host, tls: { ca: tls.ca.ca } } }, clean));
    expect(error.code).toBe('ENGINE_UNREACHABLE');
    expect(error.message).toMatch(/TLS handshake with the engine failed/);
    expect(error.hint).toMatch(/client certificate/);
    expect(error.where).toBe(tls.host);
  });

  it('reaches BuildKit through /grpc over TLS', async () => {
    const env = { ...clean, DOCKER_HOST: tls.host, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: tls.certPath };
    const client = await BuildkitClient.connect(parseBuildkitAddress('docker://', env));
    try {
      expect((await client.probe()).workers.length).toBeGreaterThan(0);
    } finally {
      client.close();
    }
  });
});

describe('ssh:// engine', () => {
  const sshEnv = () => ({
    ...clean,
    VNFPIPE_SSH_KEY: sshd.clientKey,
    VNFPIPE_SSH_KNOWN_HOSTS: sshd.knownHosts,
  });

  it('speaks the engine API over `docker system dial-stdio` on the SSH host', async () => {
    expect(await rootDir({ engine: sshd.host }, sshEnv())).toBe(`${tls.engine.dir}/data`);
    const engine = { host: sshd.host, ssh: { identity: sshd.clientKey, knownHosts: sshd.knownHosts } };
    expect(await rootDir({ engine }, clean)).toBe(`${tls.engine.dir}/data`);
  });

  it('streams an OCI layout image into the remote engine (/images/load)', async () => {
    const engine = new DockerEngine(resolveEngine({ engine: sshd.host }, sshEnv()));
    const logs: string[] = [];
    const id = await loadLayoutImage(engine, `oci:${busyboxLayout()}:latest`, '/', (line) => logs.push(line));
    expect(logs).toContainEqual(expect.stringMatching(/^loading oci:.* into the engine/));
    expect(tls.engine.docker(['image', 'inspect', '--format', '{{.Id}}', id]).trim()).toBe(id);
  });

  it('reaches BuildKit through /grpc over SSH', async () => {
    const client = await BuildkitClient.connect(parseBuildkitAddress(`docker://${sshd.host}`, sshEnv()));
    try {
      expect((await client.probe()).workers.length).toBeGreaterThan(0);
    } finally {
      client.close();
    }
  });

  it('builds a Dockerfile on the remote BuildKit: /session (context upload) and the image back, over SSH', async () => {
    const context = mkdtempSync(join(tmpdir(), 'vnfpipe-remote-build-'));
    writeFileSync(join(context, 'Dockerfile'), 'FROM scratch\nCOPY hello /hello\n');
    writeFileSync(join(context, 'hello'), `hello over ssh ${process.pid}\n`);
    const result = await buildDockerfile({
      context,
      layout: join(context, 'oci'),
      name: 'remote',
      address: parseBuildkitAddress(`docker://${sshd.host}`, sshEnv()),
    });
    expect(result.digest).toMatch(/^sha256:/);
  });

  it('fails authentication clearly, naming the key file but never its content', async () => {
    const env = { ...sshEnv(), VNFPIPE_SSH_KEY: sshd.strangerKey };
    const error = await failure(rootDir({ engine: sshd.host }, env));
    expect(error.code).toBe('ENGINE_UNREACHABLE');
    expect(error.message).toMatch(/SSH authentication as 'root' failed \(offered: .*stranger\)/);
    expect(error.where).toBe(sshd.host);
    const key = readFileSync(sshd.strangerKey, 'utf8');
    for (const line of key.split('\n').slice(1, -2)) expect(error.describe()).not.toContain(line);
    expect(error.describe()).not.toMatch(/PRIVATE KEY/);
  });

  it('refuses a host that known_hosts does not know, with its fingerprint and how to add it', async () => {
    const empty = join(home, 'empty_known_hosts');
    writeFileSync(empty, '');
    const error = await failure(
      rootDir({ engine: sshd.host }, { ...sshEnv(), VNFPIPE_SSH_KNOWN_HOSTS: empty }),
    );
    expect(error.message).toMatch(
      new RegExp(`\\[127\\.0\\.0\\.1\\]:${sshd.port} is not a known host .*SHA256:`),
    );
    expect(error.hint).toMatch(/ssh-keyscan -p \d+ 127\.0\.0\.1/);
  });

  it('says why when the SSH host cannot run `docker system dial-stdio`', async () => {
    const noDocker = await startSshd(tls.engine, { setEnv: ['PATH=/nonexistent'] });
    try {
      const env = {
        ...clean,
        VNFPIPE_SSH_KEY: noDocker.clientKey,
        VNFPIPE_SSH_KNOWN_HOSTS: noDocker.knownHosts,
      };
      const error = await failure(rootDir({ engine: noDocker.host }, env));
      expect(error.code).toBe('ENGINE_UNREACHABLE');
      expect(error.message).toMatch(
        /'docker system dial-stdio' failed on the SSH host \(exit 127\): [\s\S]*docker: command not found/,
      );
      expect(error.where).toBe(noDocker.host);
    } finally {
      await noDocker.stop();
    }
  });

  it('refuses a host whose key changed', async () => {
    const wrong = join(home, 'wrong_known_hosts');
    const stranger = readFileSync(`${sshd.strangerKey}.pub`, 'utf8').split(/\s+/);
    writeFileSync(wrong, `[127.0.0.1]:${sshd.port} ${stranger[0]} ${stranger[1]}\n`);
    const error = await failure(
      rootDir({ engine: sshd.host }, { ...sshEnv(), VNFPIPE_SSH_KNOWN_HOSTS: wrong }),
    );
    expect(error.message).toMatch(/does not match known_hosts/);
  });
});

describe('docker contexts', () => {
  const config = mkdtempSync(join(tmpdir(), 'vnfpipe-docker-config-'));
  beforeAll(() => {
    writeDockerContext(config, 'site-tls', {
      host: tls.host,
      tls: { ca: tls.ca.ca, cert: tls.ca.clientCert, key: tls.ca.clientKey },
    });
    writeDockerContext(config, 'site-ssh', { host: sshd.host });
  });

  it('reaches a named context, DOCKER_CONTEXT, and the config file’s currentContext', async () => {
    const env = { ...clean, DOCKER_CONFIG: config };
    expect(await rootDir({ context: 'site-tls' }, env)).toBe(`${tls.engine.dir}/data`);
    expect(await rootDir({}, { ...env, DOCKER_CONTEXT: 'site-tls' })).toBe(`${tls.engine.dir}/data`);
    const sshEnv = { ...env, VNFPIPE_SSH_KEY: sshd.clientKey, VNFPIPE_SSH_KNOWN_HOSTS: sshd.knownHosts };
    expect(await rootDir({ context: 'site-ssh' }, sshEnv)).toBe(`${tls.engine.dir}/data`);
    const current = mkdtempSync(join(tmpdir(), 'vnfpipe-docker-config-'));
    writeDockerContext(current, 'site-tls', {
      host: tls.host,
      tls: { ca: tls.ca.ca, cert: tls.ca.clientCert, key: tls.ca.clientKey },
    });
    writeFileSync(join(current, 'config.json'), JSON.stringify({ currentContext: 'site-tls' }));
    expect(await rootDir({}, { ...clean, DOCKER_CONFIG: current })).toBe(`${tls.engine.dir}/data`);
    // DOCKER_HOST wins over currentContext, as with the docker CLI.
    const local = await rootDir(
      {},
      { ...clean, DOCKER_CONFIG: current, DOCKER_HOST: 'unix:///var/run/docker.sock' },
    );
    expect(local).not.toBe(`${tls.engine.dir}/data`);
  });

  it('names an unknown context (a usage error)', () => {
    let error: unknown;
    try {
      resolveEngine({ context: 'no-such-site' }, { ...clean, DOCKER_CONFIG: config });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'USAGE', message: "docker context 'no-such-site' does not exist" });
    expect((error as VnfpipeError).exitCode).toBe(2);
  });
});
