import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../src/image/builder.js';
import { parseReference } from '../../src/oci/reference.js';
import { copyImage } from '../../src/registry/copy.js';
import { registryPublisher } from '../../src/registry/publish.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

const fast = { retry: { baseDelayMs: 20, maxDelayMs: 200, attempts: 6 } };
const CHUNK = 256 * 1024;

describe('streaming layers into a registry while they are built', () => {
  let registry: TestRegistry;
  let tmp: string;
  let context: string;
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'vnfpipe-stream-'));
    registry = await startRegistry();
    context = join(tmp, 'ctx');
    mkdirSync(join(context, 'data'), { recursive: true });
    // Incompressible and compressible files: the layer is several PATCH chunks long.
    writeFileSync(join(context, 'data', 'random.bin'), randomBytes(3 * 1024 * 1024));
    writeFileSync(join(context, 'data', 'text.txt'), 'vnf '.repeat(200_000));
    writeFileSync(join(context, 'small.conf'), 'rule allow udp 5000\n');
  });
  afterAll(async () => {
    await registry?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const build = (stateDir: string, publisher?: ReturnType<typeof registryPublisher>) =>
    buildImage({
      context,
      stateDir: join(tmp, stateDir),
      name: 'app',
      layers: [{ files: { data: '/opt/data' } }, { files: { 'small.conf': '/etc/vnf.conf' } }],
      ...(publisher ? { publisher } : {}),
    });

  it('uploads every layer during the build, so the push only writes the manifest; digests verify', async () => {
    const publisher = registryPublisher(
      { registry: registry.host, repository: 'stream/app' },
      { client: fast, chunkSize: CHUNK },
    );
    const built = await build('state-a', publisher);
    publisher.close();
    expect(publisher.counts).toMatchObject({ streamed: 2, failed: 0, resumed: 0 });
    expect(publisher.counts.uploaded).toBe(1); // the config

    // Same bytes as a build that publishes nothing.
    expect((await build('state-b')).digest).toBe(built.digest);

    const pushed = await copyImage(
      { transport: 'oci', dir: built.layout, ref: built.digest },
      parseReference(`${registry.host}/stream/app:1`),
    );
    expect(pushed.digest).toBe(built.digest);
    expect(pushed.blobs).toMatchObject({ transferred: 0, skipped: 3 });

    // skopeo checks every blob's digest on the way out.
    const out = join(tmp, 'skopeo-out');
    execFileSync('skopeo', [
      'copy',
      '-q',
      '--src-tls-verify=false',
      `docker://${registry.host}/stream/app:1`,
      `oci:${out}:x`,
    ]);
    const pulled = await copyImage(
      parseReference(`${registry.host}/stream/app:1`),
      parseReference(`oci:${join(tmp, 'pulled')}:x`),
    );
    expect(pulled.digest).toBe(built.digest);
  });

  it('finishes from the layout when the registry drops the streamed upload, and the push verifies', async () => {
    const proxy = await startFaultProxy(
      { host: '127.0.0.1', port: registry.port },
      { cutAfterBytes: CHUNK + 1000, maxCuts: 2 },
    );
    const logs: string[] = [];
    try {
      const publisher = registryPublisher(
        { registry: proxy.host, repository: 'stream/cut' },
        { client: fast, chunkSize: CHUNK, onLog: (line) => logs.push(line) },
      );
      const built = await build('state-c', publisher);
      publisher.close();
      expect(proxy.cuts).toBeGreaterThan(0);
      expect(logs.filter((l) => l.startsWith('could not'))).toEqual([]);
      expect(publisher.counts.failed).toBe(0);
      expect(publisher.counts.resumed).toBeGreaterThan(0);
      expect(logs.join('\n')).toMatch(/sent again from the layout after the stream broke/);

      const pushed = await copyImage(
        { transport: 'oci', dir: built.layout, ref: built.digest },
        parseReference(`${registry.host}/stream/cut:1`),
      );
      expect(pushed.blobs.transferred).toBe(0);
      const pulled = await copyImage(
        parseReference(`${registry.host}/stream/cut:1`),
        parseReference(`oci:${join(tmp, 'pulled-cut')}:x`),
      );
      expect(pulled.digest).toBe(built.digest);
    } finally {
      await proxy.stop();
    }
  });

  it('never fails the build when the registry is unreachable: the push sends the layers later', async () => {
    const logs: string[] = [];
    const publisher = registryPublisher(
      { registry: '127.0.0.1:9', repository: 'stream/none' },
      { client: { retry: { attempts: 1 } }, onLog: (line) => logs.push(line) },
    );
    const built = await build('state-d', publisher);
    publisher.close();
    expect(publisher.counts.failed).toBeGreaterThan(0);
    expect(logs[0]).toMatch(/could not publish .* to 127\.0\.0\.1:9\/stream\/none/);
    const pushed = await copyImage(
      { transport: 'oci', dir: built.layout, ref: built.digest },
      parseReference(`${registry.host}/stream/none:1`),
      { blobLocations: false },
    );
    expect(pushed.blobs.transferred).toBe(3);
  });
});
