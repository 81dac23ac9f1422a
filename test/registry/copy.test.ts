import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullCommand, pushCommand } from '../../src/cli/registry.js';
import { OciLayout } from '../../src/oci/layout.js';
import { parseReference } from '../../src/oci/reference.js';
import { RegistryClient } from '../../src/registry/client.js';
import { copyImage } from '../../src/registry/copy.js';
import { capture } from '../support/capture.js';
import { addRandomLayer, layoutDigest, makeBaseLayout } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

describe('copy between OCI layouts and a registry (distribution 2.8, no auth)', () => {
  let registry: TestRegistry;
  let tmp: string;
  let layout: string;
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'vnfpipe-reg-copy-'));
    registry = await startRegistry();
    layout = makeBaseLayout(join(tmp, 'base'));
    addRandomLayer(layout, 'latest', 'big', 3 * 1024 * 1024);
  });
  afterAll(async () => {
    await registry?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('pushes a layout, skips present blobs on a second push, and pulls it back with the same digest', async () => {
    const digest = layoutDigest(layout, 'latest');
    const first = await copyImage(
      parseReference(`oci:${layout}:latest`),
      parseReference(`${registry.host}/vnf/base:1`),
    );
    expect(first.digest).toBe(digest);
    expect(first.blobs.transferred).toBe(2);
    expect(first.reference).toBe(`${registry.host}/vnf/base:1@${digest}`);
    const second = await copyImage(
      parseReference(`oci:${layout}:latest`),
      parseReference(`${registry.host}/vnf/base:2`),
    );
    expect(second.blobs).toMatchObject({ transferred: 0, skipped: 2 });

    const out = join(tmp, 'pulled');
    const pulled = await copyImage(
      parseReference(`${registry.host}/vnf/base:1`),
      parseReference(`oci:${out}:copy`),
    );
    expect(pulled.digest).toBe(digest);
    const copy = await OciLayout.open(out);
    expect((await copy.resolve('copy')).digest).toBe(digest);
    expect(readdirSync(tmp).filter((f) => f.includes('vnfpipe-pull'))).toEqual([]);
  });

  it('uploads in chunks and mounts across repositories', async () => {
    const digest = layoutDigest(layout, 'big');
    const events: Array<{ state: string; current: number }> = [];
    const result = await copyImage(
      parseReference(`oci:${layout}:big`),
      parseReference(`${registry.host}/vnf/chunked:1`),
      {
        chunkThreshold: 1024 * 1024,
        chunkSize: 512 * 1024,
        onProgress: (p) => events.push(p),
      },
    );
    expect(result.digest).toBe(digest);
    expect(events.filter((e) => e.state === 'transferring').length).toBeGreaterThan(6);
    const mounted = await copyImage(
      parseReference(`${registry.host}/vnf/chunked:1`),
      parseReference(`${registry.host}/other/copy:1`),
    );
    expect(mounted.blobs.mounted).toBe(3);
    expect(mounted.digest).toBe(digest);
  });

  it('mounts a layout push from a repository it pushed to before, and uploads when the mount is refused', async () => {
    const cache = join(tmp, 'cache');
    const saved = process.env.VNFPIPE_CACHE_DIR;
    process.env.VNFPIPE_CACHE_DIR = cache;
    try {
      const push = async (dest: string) => {
        const run = await capture(() => pushCommand(`oci:${layout}:latest`, dest, { json: true }));
        expect(run.code).toBe(0);
        return JSON.parse(run.out) as { digest: string; blobs: Record<string, number> };
      };
      const first = await push(`${registry.host}/mount/a:1`);
      expect(first.blobs).toMatchObject({ total: 2, transferred: 2, mounted: 0 });
      const record = JSON.parse(readFileSync(join(cache, 'registry-blobs.json'), 'utf8'));
      expect(Object.values(record.registries[registry.host]).every((r) => String(r) === 'mount/a')).toBe(
        true,
      );

      const second = await push(`${registry.host}/mount/b:1`);
      expect(second.blobs).toMatchObject({ total: 2, transferred: 0, mounted: 2 });
      const inspected = JSON.parse(
        execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.host}/mount/b:1`], {
          encoding: 'utf8',
        }),
      ) as { Digest: string; Layers: string[] };
      expect(inspected.Digest).toBe(second.digest);
      execFileSync(
        'skopeo',
        [
          'copy',
          '-q',
          '--src-tls-verify=false',
          `docker://${registry.host}/mount/b:1`,
          `oci:${join(tmp, 'from-b')}:b`,
        ],
        { stdio: 'pipe' },
      );
      expect(layoutDigest(join(tmp, 'from-b'), 'b')).toBe(second.digest);

      // A remembered repository that no longer holds the blobs: the registry refuses the mount, we upload.
      const other = await startRegistry();
      try {
        const blobs = Object.keys(record.registries[registry.host]);
        writeFileSync(
          join(cache, 'registry-blobs.json'),
          JSON.stringify({
            version: 1,
            registries: { [other.host]: Object.fromEntries(blobs.map((d) => [d, ['gone/repo']])) },
          }),
        );
        const fallback = await push(`${other.host}/mount/c:1`);
        expect(fallback.blobs).toMatchObject({ total: 2, transferred: 2, mounted: 0 });
        // A stale source first, a good one after it: the refused mount does not end the search.
        writeFileSync(
          join(cache, 'registry-blobs.json'),
          JSON.stringify({
            version: 1,
            registries: {
              [registry.host]: Object.fromEntries(blobs.map((d) => [d, ['gone/repo', 'mount/a']])),
            },
          }),
        );
        const afterStale = await push(`${registry.host}/mount/d:1`);
        expect(afterStale.blobs).toMatchObject({ total: 2, transferred: 0, mounted: 2 });
      } finally {
        await other.stop();
      }
    } finally {
      if (saved === undefined) delete process.env.VNFPIPE_CACHE_DIR;
      else process.env.VNFPIPE_CACHE_DIR = saved;
    }
  });

  it('copies between two registries, streaming blobs through', async () => {
    const other = await startRegistry();
    try {
      const digest = layoutDigest(layout, 'big');
      const result = await copyImage(
        parseReference(`${registry.host}/vnf/chunked:1`),
        parseReference(`${other.host}/mirror/app:1`),
      );
      expect(result.digest).toBe(digest);
      expect(result.blobs.transferred).toBe(3);
      const back = await copyImage(
        parseReference(`${other.host}/mirror/app:1`),
        parseReference(`oci:${join(tmp, 'mirror')}:m`),
      );
      expect(back.digest).toBe(digest);
    } finally {
      await other.stop();
    }
  });

  it('exits 2 on usage errors from the push and pull commands', async () => {
    const push = await capture(() => pushCommand(`oci:${layout}:latest`, `oci:${tmp}/x:y`));
    expect(push.code).toBe(2);
    expect(push.err).toContain('push copies to a registry');
    const pull = await capture(() => pullCommand(`oci:${layout}:latest`, `oci:${tmp}/x:y`));
    expect(pull.code).toBe(2);
    const missing = await capture(() => pullCommand(`${registry.host}/vnf/none:1`, `oci:${tmp}/x:y`));
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('manifest not found');
  });

  it('lists tags page by page, and deletes a manifest', async () => {
    const client = new RegistryClient(registry.host);
    try {
      for (const tag of ['a', 'b', 'c', 'd', 'e']) {
        await copyImage(
          parseReference(`oci:${layout}:latest`),
          parseReference(`${registry.host}/vnf/tags:${tag}`),
          {
            clients: new Map([[registry.host, client]]),
          },
        );
      }
      expect((await client.listTags('vnf/tags', 2)).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
      const digest = layoutDigest(layout, 'latest') as `sha256:${string}`;
      expect(await client.deleteManifest('vnf/tags', digest)).toBe(true);
      expect(await client.headManifest('vnf/tags', 'a')).toBeUndefined();
    } finally {
      client.close();
    }
    expect(readFileSync(join(layout, 'index.json'), 'utf8')).toContain('big');
  });
});
