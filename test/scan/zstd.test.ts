/** zstd-compressed layers (`application/vnd.oci.image.layer.v1.tar+zstd`), compressed by the real zstd CLI. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VnfpipeError } from '../../src/errors.ts';
import { scanImage } from '../../src/scan/scanner.ts';
import { gzLayer, type LayerBlob, makeTar, type TestEntry, writeLayout } from './support/oci.ts';

const ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';

function zstdLayer(entries: TestEntry[], level = 3): LayerBlob {
  const tar = makeTar(entries);
  const blob = execFileSync('zstd', [`-${level}`, '-c', '-q'], { input: tar, maxBuffer: 1 << 30 });
  return { blob, mediaType: ZSTD, diffId: `sha256:${createHash('sha256').update(tar).digest('hex')}` };
}

function layout(layers: LayerBlob[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-scan-zstd-'));
  writeLayout(dir, { layers, tag: 'zstd' });
  return `oci:${dir}:zstd`;
}

const status = (name: string, version: string) =>
  `Package: ${name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: ${version}\n\n`;

describe('zstd layers', () => {
  it('are read like gzip ones, mixed in one image', async () => {
    const ref = layout([
      gzLayer(makeTar([{ path: 'var/lib/dpkg/status', data: status('from-gzip', '1.0-1') }])),
      zstdLayer([
        { path: 'var/lib/dpkg/status', data: status('from-zstd', '2.0-1') },
        // Big enough to span several zstd blocks and read chunks.
        { path: 'usr/share/big', data: Buffer.alloc(3 * 1024 * 1024, 'vnfpipe ') },
      ]),
    ]);
    const result = await scanImage(ref, { skipVulnerabilities: true });
    expect(result.packages.map((p) => [p.name, p.version, p.layer])).toEqual([['from-zstd', '2.0-1', 1]]);
    expect(result.gaps).toEqual([]);
  });

  it('follow several frames and skippable frames, with and without checksums', async () => {
    const tar = makeTar([
      { path: 'var/lib/dpkg/status', data: status('multi', '3.0-1') },
      { path: 'usr/share/big', data: Buffer.alloc(2 * 1024 * 1024, 'frames ') },
    ]);
    const half = tar.length / 2;
    const first = execFileSync('zstd', ['-19', '--check', '-c', '-q'], { input: tar.subarray(0, half) });
    const second = execFileSync('zstd', ['-3', '--no-check', '-c', '-q'], { input: tar.subarray(half) });
    const skippable = Buffer.from([0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    const blob = Buffer.concat([first, skippable, second]);
    const diffId = `sha256:${createHash('sha256').update(tar).digest('hex')}`;
    const result = await scanImage(layout([{ blob, mediaType: ZSTD, diffId }]), {
      skipVulnerabilities: true,
    });
    expect(result.packages.map((p) => p.name)).toEqual(['multi']);
  });

  it('refuse a frame that asks for a window larger than zstd allows by default', async () => {
    // Magic, descriptor (no single segment), window descriptor 2^30, then an empty last raw block.
    const blob = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 20 << 3, 0x01, 0x00, 0x00]);
    const refused = await scanImage(layout([{ blob, mediaType: ZSTD, diffId: `sha256:${'0'.repeat(64)}` }]), {
      skipVulnerabilities: true,
    }).catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'LAYER_UNSAFE',
      message: expect.stringMatching(/asks for a 1073741824-byte window, more than the 134217728 allowed/),
    });
  });

  it('refuse corrupt zstd and zstd bombs, naming the layer', async () => {
    const good = zstdLayer([{ path: 'a', data: 'a' }]);
    const corrupt = Buffer.from(good.blob);
    corrupt.fill(0x41, 8);
    const bad = await scanImage(layout([{ ...good, blob: corrupt }]), { skipVulnerabilities: true }).catch(
      (e: unknown) => e,
    );
    expect(bad).toBeInstanceOf(VnfpipeError);
    expect(bad).toMatchObject({ code: 'LAYER_UNSAFE', where: expect.stringMatching(/^layer 0 sha256:/) });
    expect((bad as Error).message).toMatch(/not valid zstd/);
    const bomb = zstdLayer([{ path: 'zeros', data: Buffer.alloc(16 * 1024 * 1024) }], 19);
    const refused = await scanImage(layout([bomb]), {
      skipVulnerabilities: true,
      limits: { maxTotalBytes: 4 * 1024 * 1024 },
    }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'LAYER_UNSAFE', message: expect.stringMatching(/scan budget/) });
  });
});
