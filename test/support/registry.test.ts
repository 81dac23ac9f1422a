import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from './registry.js';

describe('test registry (docker-registry, distribution 2.8)', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('is a real registry: a pushed blob reads back byte for byte', async () => {
    const ping = await fetch(`${registry.url}/v2/`);
    expect(ping.status).toBe(200);
    expect(ping.headers.get('docker-distribution-api-version')).toBe('registry/2.0');

    const blob = Buffer.from(`vnfpipe test blob ${Date.now()}\n`);
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    const start = await fetch(`${registry.url}/v2/test/blobs/uploads/`, { method: 'POST' });
    expect(start.status).toBe(202);
    const location = new URL(start.headers.get('location')!, registry.url);
    location.searchParams.set('digest', digest);
    const put = await fetch(location, {
      method: 'PUT',
      body: blob,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(put.status).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(digest);

    const get = await fetch(`${registry.url}/v2/test/blobs/${digest}`);
    expect(get.status).toBe(200);
    expect(Buffer.from(await get.arrayBuffer())).toEqual(blob);

    const wrong = `sha256:${'0'.repeat(64)}`;
    expect((await fetch(`${registry.url}/v2/test/blobs/${wrong}`, { method: 'HEAD' })).status).toBe(404);
  });
});
