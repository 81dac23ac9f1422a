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
