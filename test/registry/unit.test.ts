import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifestOrIndex } from '../../src/oci/manifest.js';
import { parseChallenges } from '../../src/registry/auth/challenge.js';
import { credentialsFromString } from '../../src/registry/auth/credentials.js';
import {
  credentialsFromDockerConfig,
  eraseCredentials,
  storeCredentials,
} from '../../src/registry/auth/docker-config.js';
import { nextLink, RegistryClient } from '../../src/registry/client.js';
import { convertToOci } from '../../src/registry/convert.js';
import { parseRetryAfter } from '../../src/registry/retry.js';
import { isLoopbackHost } from '../../src/registry/transport.js';
import { uploadBlob } from '../../src/registry/upload.js';

describe('WWW-Authenticate parsing', () => {
  it('reads Bearer parameters, quoted strings with escapes and commas, and several challenges', () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull,push"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: { realm: 'https://auth.example/token', service: 'reg', scope: 'repository:a/b:pull,push' },
      },
    ]);
    expect(parseChallenges('Basic realm="x \\"y\\"", Bearer realm=tok, service=s')).toEqual([
      { scheme: 'basic', params: { realm: 'x "y"' } },
      { scheme: 'bearer', params: { realm: 'tok', service: 's' } },
    ]);
    expect(parseChallenges(undefined)).toEqual([]);
    expect(parseChallenges('Negotiate')).toEqual([{ scheme: 'negotiate', params: {} }]);
  });
});

describe('small parsers', () => {
  it('reads Retry-After, Link and loopback hosts', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(Date.now() + 2000).toUTCString(), Date.now())).toBeGreaterThan(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(nextLink('</v2/x/tags/list?last=b&n=2>; rel="next"')).toBe('/v2/x/tags/list?last=b&n=2');
    expect(nextLink('<a>; rel="prev"')).toBeUndefined();
    for (const host of ['localhost:5000', '127.0.0.1', '127.1.2.3:80', '[::1]:5000'])
      expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['registry.example', '10.0.0.1:5000', '128.0.0.1'])
      expect(isLoopbackHost(host)).toBe(false);
    expect(credentialsFromString('u:p:q')).toEqual({ kind: 'basic', username: 'u', password: 'p:q' });
    expect(credentialsFromString('tok')).toEqual({ kind: 'token', token: 'tok' });
  });
});

describe('conversion to OCI media types', () => {
  const sha = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}` as const;
  const doc = (json: object, mediaType: string, platform?: { os: string; architecture: string }) => {
    const bytes = Buffer.from(JSON.stringify(json));
    const descriptor = {
      mediaType,
      digest: sha(bytes),
      size: bytes.length,
      ...(platform ? { platform } : {}),
    };
    return { descriptor, bytes, parsed: parseManifestOrIndex(bytes, 'test', mediaType) };
  };

  it('rewrites a Docker manifest list and its manifests, keeping blobs and the rest of each document', () => {
    const layer = { digest: sha('layer'), size: 5 };
    const child = doc(
      {
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: {
          mediaType: 'application/vnd.docker.container.image.v1+json',
          digest: sha('config'),
          size: 6,
        },
        layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', ...layer }],
      },
      'application/vnd.docker.distribution.manifest.v2+json',
      { os: 'linux', architecture: 'amd64' },
    );
    const list = doc(
      {
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
        manifests: [{ ...child.descriptor, platform: { os: 'linux', architecture: 'amd64' } }],
      },
      'application/vnd.docker.distribution.manifest.list.v2+json',
    );
    const converted = convertToOci([child, list], 'test');
    const newChild = converted.get(child.descriptor.digest)!;
    const newList = converted.get(list.descriptor.digest)!;
    expect([...converted.keys()]).toEqual([child.descriptor.digest, list.descriptor.digest]);
    expect(newChild.descriptor).toMatchObject({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: sha(newChild.bytes),
      size: newChild.bytes.length,
      platform: { os: 'linux', architecture: 'amd64' },
    });
    const manifest = JSON.parse(newChild.bytes.toString());
    expect(manifest.config).toEqual({
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: sha('config'),
      size: 6,
    });
    expect(manifest.layers).toEqual([{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }]);
    const index = JSON.parse(newList.bytes.toString());
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests).toEqual([
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: newChild.descriptor.digest,
        size: newChild.bytes.length,
        platform: { os: 'linux', architecture: 'amd64' },
      },
    ]);
    // OCI already: bytes and digest stay.
    const again = convertToOci([newChild, newList], 'test');
    expect(again.get(newList.descriptor.digest)!.bytes).toBe(newList.bytes);
  });
});

describe('docker config.json', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vnfpipe-dockercfg-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds auths under URL-style keys, identity tokens and docker.io', async () => {
    const env = { DOCKER_CONFIG: dir, PATH: process.env.PATH };
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({
        auths: {
          'https://registry.example:5000/v1/': { auth: Buffer.from('ann:pw:with:colons').toString('base64') },
          'https://index.docker.io/v1/': { auth: Buffer.from('hub:hubpw').toString('base64') },
          'id.example': { identitytoken: 'refresh-me' },
        },
      }),
    );
    expect(await credentialsFromDockerConfig('registry.example:5000', env)).toEqual({
      kind: 'basic',
      username: 'ann',
      password: 'pw:with:colons',
    });
    expect(await credentialsFromDockerConfig('docker.io', env)).toEqual({
      kind: 'basic',
      username: 'hub',
      password: 'hubpw',
    });
    expect(await credentialsFromDockerConfig('id.example', env)).toEqual({
      kind: 'identity',
      token: 'refresh-me',
    });
    expect(await credentialsFromDockerConfig('other.example', env)).toBeUndefined();
    await storeCredentials('docker.io', { username: 'new', password: 'npw' }, env);
    expect(await credentialsFromDockerConfig('index.docker.io', env)).toEqual({
      kind: 'basic',
      username: 'new',
      password: 'npw',
    });
    expect(await eraseCredentials('docker.io', env)).toBe(true);
    expect(await credentialsFromDockerConfig('docker.io', env)).toBeUndefined();
    expect(await credentialsFromDockerConfig('registry.example:5000', env)).toBeDefined();
  });

  it('names the file when it is not JSON', async () => {
    writeFileSync(join(dir, 'config.json'), '{nope');
    await expect(credentialsFromDockerConfig('x.example', { DOCKER_CONFIG: dir })).rejects.toThrow(
      'docker config is not valid JSON',
    );
  });
});

/**
 * A registry stand-in that keeps what a dropped request delivered (as the spec allows), so an upload can
 * resume from the offset GET reports; it also answers the first POST with 429 and Retry-After.
 */
function resumableServer(cutAfter: number) {
  const uploads = new Map<string, Buffer>();
  const log: string[] = [];
  let cuts = 0;
  let throttled = false;
  let next = 0;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    log.push(`${req.method} ${url.pathname.replace(/\/\d+$/, '/N')}`);
    if (url.pathname === '/v2/') return res.writeHead(200).end();
    if (req.method === 'HEAD') return res.writeHead(404).end();
    if (req.method === 'POST') {
      if (!throttled) {
        throttled = true;
        return res.writeHead(429, { 'retry-after': '0' }).end();
      }
      const id = String(++next);
      uploads.set(id, Buffer.alloc(0));
      return res.writeHead(202, { location: `/v2/r/blobs/uploads/${id}`, range: '0-0' }).end();
    }
    const id = url.pathname.split('/').pop()!;
    const have = uploads.get(id);
    if (!have) return res.writeHead(404).end();
    if (req.method === 'GET') {
      return res
        .writeHead(204, { location: `/v2/r/blobs/uploads/${id}`, range: `0-${Math.max(0, have.length - 1)}` })
        .end();
    }
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      const keep =
        cuts < 1 && received + chunk.length > cutAfter ? chunk.subarray(0, cutAfter - received) : chunk;
      received += keep.length;
      uploads.set(id, Buffer.concat([uploads.get(id)!, keep]));
      if (keep !== chunk) {
        cuts++;
        req.socket.destroy();
      }
    });
    req.on('end', () => {
      const data = uploads.get(id)!;
      if (req.method === 'PATCH') {
        return res
          .writeHead(202, { location: `/v2/r/blobs/uploads/${id}`, range: `0-${data.length - 1}` })
          .end();
      }
      const digest = url.searchParams.get('digest');
      const actual = `sha256:${createHash('sha256').update(data).digest('hex')}`;
      res.writeHead(actual === digest ? 201 : 400).end();
    });
  });
  return { server, log };
}

describe('resumable uploads (against a registry that keeps partial data)', () => {
  for (const chunked of [false, true]) {
    it(`resumes a ${chunked ? 'chunked' : 'monolithic'} upload from the offset GET reports`, async () => {
      const { server, log } = resumableServer(300_000);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as { port: number }).port;
      const client = new RegistryClient(`127.0.0.1:${port}`, { retry: { baseDelayMs: 5, maxDelayMs: 20 } });
      try {
        const data = randomBytes(1_000_000);
        const digest = `sha256:${createHash('sha256').update(data).digest('hex')}` as const;
        const progress: number[] = [];
        const result = await uploadBlob(
          client,
          'r',
          digest,
          { size: data.length, open: (s, e) => Readable.from([data.subarray(s, e)]) },
          {
            ...(chunked ? { chunkThreshold: 1, chunkSize: 400_000 } : {}),
            onProgress: (n) => progress.push(n),
          },
        );
        expect(result).toBe('uploaded');
        expect(log.filter((l) => l === 'POST /v2/r/blobs/uploads/')).toHaveLength(2);
        expect(log).toContain('GET /v2/r/blobs/uploads/N');
        expect(progress.at(-1)).toBe(data.length);
      } finally {
        client.close();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  }
});
