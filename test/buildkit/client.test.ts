import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBuildkitAddress } from '../../src/buildkit/address.js';
import { BuildkitClient } from '../../src/buildkit/client.js';
import { buildDockerfile } from '../../src/buildkit/dockerfile.js';
import { VnfpipeError } from '../../src/errors.js';
import { busyboxInDocker } from '../support/engine-images.js';

describe('BuildKit address', () => {
  it('reads engine, unix and tcp forms', () => {
    expect(parseBuildkitAddress('docker://', {})).toMatchObject({
      kind: 'engine',
      socketPath: '/var/run/docker.sock',
    });
    expect(parseBuildkitAddress(undefined, { DOCKER_HOST: 'tcp://10.0.0.1:2375' })).toMatchObject({
      kind: 'engine',
      host: '10.0.0.1',
      port: 2375,
    });
    expect(parseBuildkitAddress('unix:///var/run/docker.sock', {})).toMatchObject({ kind: 'engine' });
    expect(parseBuildkitAddress('unix:///run/buildkit/buildkitd.sock', {})).toMatchObject({ kind: 'unix' });
    expect(
      parseBuildkitAddress('tcp://builder:1234', {}, { ca: 'ca.pem', cert: 'c.pem', key: 'k.pem' }),
    ).toMatchObject({ kind: 'tcp', host: 'builder', port: 1234, tls: { ca: 'ca.pem' } });
  });

  it('refuses malformed addresses and half a client certificate', () => {
    expect(() => parseBuildkitAddress('http://x', {})).toThrow(VnfpipeError);
    expect(() => parseBuildkitAddress('unix://relative.sock', {})).toThrow(/absolute/);
    expect(() => parseBuildkitAddress('tcp://b:1', {}, { cert: 'c.pem' })).toThrow(/go together/);
  });
});

describe('BuildKit client against the engine', () => {
  it('probes the embedded BuildKit through /grpc', async () => {
    const client = await BuildkitClient.connect(parseBuildkitAddress('docker://', {}));
    try {
      const info = await client.probe();
      expect(info.embedded).toBe(true);
      expect(info.exporters).toContain('moby');
      expect(info.workers.length).toBeGreaterThan(0);
      expect(info.workers[0]!.platforms[0]).toMatch(/^linux\//);
      await expect(client.require({ exporter: 'oci' })).rejects.toThrow(/no 'oci' exporter/);
      const usage = await client.control.diskUsage({});
      expect(Array.isArray(usage.record)).toBe(true);
    } finally {
      client.close();
    }
  });

  it('lists build cache records and prunes only what a filter matches', async () => {
    // A build leaves cache behind.
    const context = mkdtempSync(join(tmpdir(), 'vnfpipe-bk-du-'));
    writeFileSync(join(context, 'Dockerfile'), `FROM ${busyboxInDocker()}\nRUN echo cache > /c\n`);
    await buildDockerfile({ context, layout: join(context, 'oci'), name: 'du' });
    const client = await BuildkitClient.connect(parseBuildkitAddress('docker://', {}));
    try {
      const records = await client.diskUsage();
      expect(records.length).toBeGreaterThan(0);
      expect(records[0]).toMatchObject({ id: expect.any(String), size: expect.any(Number) });
      const one = records[0]!;
      expect((await client.diskUsage([`id==${one.id}`])).map((r) => r.id)).toEqual([one.id]);
      // A filter that matches nothing removes nothing (the engine's cache is shared with other work).
      expect(await client.prune({ filter: ['id==vnfpipe-no-such-record'] })).toEqual([]);
    } finally {
      client.close();
    }
  });

  it('names the address when nothing listens', async () => {
    await expect(
      BuildkitClient.connect(parseBuildkitAddress('unix:///nonexistent/buildkitd.sock', {})),
    ).rejects.toMatchObject({ code: 'ENGINE_UNREACHABLE', where: 'unix:///nonexistent/buildkitd.sock' });
  });
});
