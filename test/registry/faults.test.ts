import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullCommand } from '../../src/cli/registry.js';
import { parseReference } from '../../src/oci/reference.js';
import { copyImage } from '../../src/registry/copy.js';
import { capture } from '../support/capture.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { addRandomLayer, layoutDigest, makeBaseLayout } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

const fast = { retry: { baseDelayMs: 20, maxDelayMs: 200, attempts: 6 } };

describe('faults: dropped connections and tampered blobs', () => {
  let registry: TestRegistry;
  let tmp: string;
  let layout: string;
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'vnfpipe-reg-faults-'));
    registry = await startRegistry();
    layout = makeBaseLayout(join(tmp, 'base'));
    addRandomLayer(layout, 'latest', 'big', 6 * 1024 * 1024);
  });
  afterAll(async () => {
    await registry?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  for (const mode of ['monolithic', 'chunked'] as const) {
    it(`completes a ${mode} push when every connection is cut once mid-blob`, async () => {
      const proxy = await startFaultProxy(
        { host: '127.0.0.1', port: registry.port },
        { cutAfterBytes: 2 * 1024 * 1024, maxCuts: 3 },
      );
      const retries: string[] = [];
      try {
        const digest = layoutDigest(layout, 'big');
        const result = await copyImage(
          parseReference(`oci:${layout}:big`),
          parseReference(`${proxy.host}/faults/${mode}:1`),
          {
            registries: { default: { ...fast, onRetry: (what) => retries.push(what) } },
            ...(mode === 'chunked' ? { chunkThreshold: 1024 * 1024, chunkSize: 1536 * 1024 } : {}),
          },
        );
        expect(proxy.cuts).toBeGreaterThan(0);
        expect(result.digest).toBe(digest);
        const out = join(tmp, `pulled-${mode}`);
        const pulled = await copyImage(
          parseReference(`${registry.host}/faults/${mode}:1`),
          parseReference(`oci:${out}:x`),
        );
        expect(pulled.digest).toBe(digest);
      } finally {
        await proxy.stop();
      }
    });
  }

  it('refuses a blob whose bytes do not match its digest, naming it, and writes nothing to the layout', async () => {
    await copyImage(
      parseReference(`oci:${layout}:big`),
      parseReference(`${registry.host}/faults/tampered:1`),
    );
    const manifest = JSON.parse(
      readFileSync(join(layout, 'blobs', 'sha256', layoutDigest(layout, 'big').slice(7)), 'utf8'),
    ) as {
      layers: Array<{ digest: string }>;
    };
    const victim = manifest.layers.at(-1)!.digest;
    const hex = victim.slice(7);
    const data = join(registry.storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    const bytes = readFileSync(data);
    const middle = bytes.length >> 1;
    bytes.writeUInt8(bytes.readUInt8(middle) ^ 0xff, middle);
    writeFileSync(data, bytes);

    // Into a new layout: the folder is never created.
    const fresh = join(tmp, 'fresh');
    await expect(
      copyImage(parseReference(`${registry.host}/faults/tampered:1`), parseReference(`oci:${fresh}:x`)),
    ).rejects.toThrow(victim);
    expect(readdirSync(tmp).filter((f) => f === 'fresh' || f.includes('vnfpipe-pull'))).toEqual([]);

    // Into an existing layout: index.json and the blob store are unchanged.
    const existing = makeBaseLayout(join(tmp, 'existing'));
    const before = readFileSync(join(existing, 'index.json'), 'utf8');
    const blobsBefore = readdirSync(join(existing, 'blobs', 'sha256')).sort();
    const error = await copyImage(
      parseReference(`${registry.host}/faults/tampered:1`),
      parseReference(`oci:${existing}:y`),
    ).catch((e: unknown) => e);
    expect((error as { code: string }).code).toBe('OCI_DIGEST_MISMATCH');
    expect(String((error as Error).message)).toContain(victim);
    const cli = await capture(() => pullCommand(`${registry.host}/faults/tampered:1`, `oci:${existing}:z`));
    expect(cli.code).toBe(1);
    expect(cli.err).toContain(victim);
    expect(readFileSync(join(existing, 'index.json'), 'utf8')).toBe(before);
    expect(readdirSync(join(existing, 'blobs', 'sha256')).sort()).toEqual(blobsBefore);
  });

  it('starts the upload again when the first PUT fails before the registry stored a byte', async () => {
    const { createServer, request } = await import('node:http');
    const { createHash, randomBytes } = await import('node:crypto');
    const { Readable } = await import('node:stream');
    const { RegistryClient } = await import('../../src/registry/client.js');
    const { uploadBlob } = await import('../../src/registry/upload.js');
    // A proxy that answers the first PUT with 503, as a load balancer hiccup would.
    let failed = false;
    const upstream = new URL(registry.url);
    const proxy = createServer((req, res) => {
      if (req.method === 'PUT' && !failed) {
        failed = true;
        req.resume();
        res.writeHead(503).end();
        return;
      }
      const forward = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          const headers = { ...answer.headers };
          const port = (proxy.address() as { port: number }).port;
          if (headers.location) headers.location = headers.location.replace(`:${upstream.port}`, `:${port}`);
          res.writeHead(answer.statusCode ?? 502, headers);
          answer.pipe(res);
        },
      );
      req.pipe(forward);
    });
    await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
    const client = new RegistryClient(`127.0.0.1:${(proxy.address() as { port: number }).port}`, fast);
    try {
      const data = randomBytes(100_000);
      const digest = `sha256:${createHash('sha256').update(data).digest('hex')}` as const;
      const result = await uploadBlob(client, 'faults/put', digest, {
        size: data.length,
        open: (start: number, end: number) => Readable.from([data.subarray(start, end)]),
      });
      expect(failed).toBe(true);
      expect(result).toBe('uploaded');
      const back = await fetch(`${registry.url}/v2/faults/put/blobs/${digest}`);
      expect(Buffer.from(await back.arrayBuffer()).equals(data)).toBe(true);
    } finally {
      client.close();
      proxy.close();
    }
  });
});

describe('a registry that cuts an answer short', () => {
  it('is asked again, and past the retries the error names the registry', async () => {
    const { createServer } = await import('node:http');
    const { RegistryClient } = await import('../../src/registry/client.js');
    let requests = 0;
    let cutEvery = true;
    // Answers the manifest with a promised length it never delivers, until told to answer properly.
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [],
    });
    const server = createServer((req, res) => {
      if (req.url === '/v2/')
        return void res.writeHead(200, { 'docker-distribution-api-version': 'registry/2.0' }).end('{}');
      requests++;
      res.writeHead(200, {
        'content-type': 'application/vnd.oci.image.index.v1+json',
        'content-length': String(manifest.length),
      });
      if (cutEvery || requests === 1) {
        res.write(manifest.slice(0, 10));
        res.socket?.destroy();
      } else {
        res.end(manifest);
      }
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const failing = new RegistryClient(host, fast);
      await expect(failing.getManifest('cut/app', 'latest')).rejects.toMatchObject({
        code: 'REGISTRY_UNREACHABLE',
        where: `${host}/cut/app:latest`,
      });
      expect(requests).toBe(fast.retry.attempts);
      failing.close();

      cutEvery = false;
      requests = 0;
      const recovering = new RegistryClient(host, fast);
      const fetched = await recovering.getManifest('cut/app', 'latest');
      expect(fetched.bytes.toString()).toBe(manifest);
      expect(requests).toBe(2);
      recovering.close();
    } finally {
      server.close();
    }
  });
});
