/**
 * The standalone-buildkitd transports (unix socket, tcp + mTLS) against what stands in for buildkitd here:
 * a loopback relay whose every connection is an engine socket upgraded to BuildKit's gRPC (`/grpc`). What is
 * real: our HTTP/2 over a plain unix socket and over TLS with client certificates, and the Control API
 * behind them, and sessions carried inside a Control/Session call (the standalone way: the engine's
 * BuildKit serves that call too) with the build context going up and a `tar` export coming back over FileSend.
 * What is simulated: the server is the engine's embedded BuildKit (v0.8), not a buildkitd process, so it has
 * no `oci` exporter; building into a layout is checked only to fail with the daemon's own refusal here
 * (VNFPIPE_E2E_BUILDKIT_HOST runs a real buildkitd; the OCI archive reader is tested on its own).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBuildkitAddress } from '../../src/buildkit/address.js';
import { BuildkitClient } from '../../src/buildkit/client.js';
import { upgradeEngineSocket } from '../../src/buildkit/hijack.js';
import { busyboxInDocker } from '../support/engine-images.js';

const ENGINE = parseBuildkitAddress('docker://', {}) as Extract<
  ReturnType<typeof parseBuildkitAddress>,
  { kind: 'engine' }
>;

function relay(client: Socket | TLSSocket): void {
  client.pause();
  // A side that hangs up ends the other; its write errors are the relay's business, not the test's.
  client.on('error', () => client.destroy());
  upgradeEngineSocket(ENGINE, '/grpc').then(
    (engine) => {
      engine.on('error', () => engine.destroy());
      client.pipe(engine).pipe(client);
      client.resume();
      client.on('close', () => engine.destroy());
      engine.on('close', () => client.destroy());
    },
    () => client.destroy(),
  );
}

const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-bk-relay-'));
const servers: Server[] = [];
afterAll(() => {
  for (const server of servers) server.close();
});

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

describe('standalone buildkitd transports through a relay to the engine', () => {
  let tlsPort = 0;
  beforeAll(async () => {
    const unix = createServer(relay);
    servers.push(unix);
    await new Promise<void>((r) => unix.listen(join(dir, 'buildkitd.sock'), r));

    // A CA, a server certificate for 127.0.0.1 and a client certificate, like buildkitd's mTLS setup.
    openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '1',
      '-subj',
      '/CN=test-ca',
    );
    for (const who of ['server', 'client']) {
      openssl(
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        `${who}.key`,
        '-out',
        `${who}.csr`,
        '-subj',
        `/CN=${who}`,
      );
      const ext = join(dir, `${who}.ext`);
      execFileSync('sh', ['-c', `echo 'subjectAltName=IP:127.0.0.1' > ${ext}`]);
      openssl(
        'x509',
        '-req',
        '-in',
        `${who}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${who}.pem`,
        '-days',
        '1',
        '-extfile',
        ext,
      );
    }
    const tls = createTlsServer(
      {
        key: readFileSync(join(dir, 'server.key')),
        cert: readFileSync(join(dir, 'server.pem')),
        ca: readFileSync(join(dir, 'ca.pem')),
        requestCert: true,
        rejectUnauthorized: true,
        ALPNProtocols: ['h2'],
      },
      relay,
    );
    servers.push(tls);
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
    tlsPort = (tls.address() as { port: number }).port;
  });

  it('speaks gRPC over a unix socket', async () => {
    const client = await BuildkitClient.connect(
      parseBuildkitAddress(`unix://${join(dir, 'buildkitd.sock')}`, {}),
    );
    try {
      const info = await client.probe();
      expect(info.embedded).toBe(false);
      expect(info.workers.length).toBeGreaterThan(0);
    } finally {
      client.close();
    }
  });

  it('speaks gRPC over tcp with mutual TLS', async () => {
    const address = parseBuildkitAddress(
      `tcp://127.0.0.1:${tlsPort}`,
      {},
      {
        ca: join(dir, 'ca.pem'),
        cert: join(dir, 'client.pem'),
        key: join(dir, 'client.key'),
      },
    );
    const client = await BuildkitClient.connect(address);
    try {
      expect((await client.probe()).workers.length).toBeGreaterThan(0);
    } finally {
      client.close();
    }
  });

  it('is refused without a client certificate', async () => {
    const address = parseBuildkitAddress(`tcp://127.0.0.1:${tlsPort}`, {}, { ca: join(dir, 'ca.pem') });
    const attempt = BuildkitClient.connect(address).then(async (client) => {
      try {
        return await client.probe();
      } finally {
        client.close();
      }
    });
    await expect(attempt).rejects.toMatchObject({ code: 'ENGINE_UNREACHABLE' });
  });

  it('builds a Dockerfile over a session inside Control/Session, the result coming back over FileSend', async () => {
    const { buildDockerfile } = await import('../../src/buildkit/dockerfile.js');
    const context = mkdtempSync(join(tmpdir(), 'vnfpipe-bk-relay-ctx-'));
    writeFileSync(join(context, 'hello.txt'), 'sent through the tunnel\n');
    writeFileSync(
      join(context, 'Dockerfile'),
      `FROM ${busyboxInDocker()}\nCOPY hello.txt /hello.txt\nRUN echo ran-remotely > /ran\n`,
    );
    const tarFile = join(context, 'out', 'rootfs.tar');
    const built = await buildDockerfile({
      context,
      tarFile,
      noCache: true,
      address: parseBuildkitAddress(`unix://${join(dir, 'buildkitd.sock')}`, {}),
    });
    expect(built).toMatchObject({ ref: `tar:${tarFile}`, tarFile });
    expect(execFileSync('tar', ['-xOf', tarFile, 'hello.txt']).toString()).toBe('sent through the tunnel\n');
    expect(execFileSync('tar', ['-xOf', tarFile, 'ran']).toString()).toBe('ran-remotely\n');
    // The base's files are in the file system too; nothing but the archive is left in its folder.
    expect(execFileSync('tar', ['-tf', tarFile]).toString()).toMatch(/^bin\/busybox$/m);
    expect(readdirSync(join(context, 'out'))).toEqual(['rootfs.tar']);
  });

  it('asks a standalone server for the oci exporter into a layout, and reports its refusal', async () => {
    const { buildDockerfile } = await import('../../src/buildkit/dockerfile.js');
    const context = mkdtempSync(join(tmpdir(), 'vnfpipe-bk-relay-ctx-'));
    writeFileSync(join(context, 'Dockerfile'), `FROM ${busyboxInDocker()}\nCMD ["true"]\n`);
    const address = parseBuildkitAddress(`unix://${join(dir, 'buildkitd.sock')}`, {});
    // The engine behind the relay has no oci exporter: the daemon's own answer names it.
    await expect(
      buildDockerfile({ context, layout: join(context, 'oci'), name: 'x', address }),
    ).rejects.toThrow(/oci/);
    await expect(buildDockerfile({ context, engineImage: 'x:1', address })).rejects.toMatchObject({
      code: 'USAGE',
      message: 'a standalone buildkitd has no engine to keep the image in',
    });
  });
});
