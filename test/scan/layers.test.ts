/** The layer-aware filesystem view, hostile layers, and checks that depend on layer history. */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { VnfpipeError } from '../../src/errors.ts';
import { scanImage } from '../../src/scan/scanner.ts';
import { gzLayer, type LayerBlob, makeTar, type TestEntry, writeLayout } from './support/oci.ts';

function layout(layers: LayerBlob[], config: Record<string, unknown> = {}, tag = 'test'): string {
  const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-scan-layers-'));
  writeLayout(dir, { layers, config, tag });
  return `oci:${dir}:${tag}`;
}

const layer = (entries: TestEntry[]) => gzLayer(makeTar(entries));

async function refusal(ref: string, limits = {}): Promise<VnfpipeError> {
  try {
    await scanImage(ref, { skipVulnerabilities: true, limits });
  } catch (error) {
    expect(error).toBeInstanceOf(VnfpipeError);
    return error as VnfpipeError;
  }
  throw new Error('expected the scan to be refused');
}

const privateKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

describe('filesystem view', () => {
  it('applies whiteouts and opaque directories and attributes files to layers', async () => {
    const ref = layout([
      layer([
        { path: 'etc/', type: 'dir' },
        { path: 'etc/keep', data: 'a' },
        { path: 'etc/gone', data: 'b' },
        { path: 'opt/app/', type: 'dir' },
        { path: 'opt/app/old', data: 'c', mode: 0o777 },
        { path: 'usr/bin/tool', data: 'x', mode: 0o4755 },
      ]),
      layer([
        { path: 'etc/.wh.gone' },
        { path: 'opt/app/.wh..wh..opq' },
        { path: 'opt/app/new', data: 'd' },
        { path: 'etc/keep', data: 'changed', mode: 0o666 },
      ]),
    ]);
    const result = await scanImage(ref, { skipVulnerabilities: true });
    const paths = result.checks.filter((c) => c.id === 'world-writable').map((c) => [c.path, c.layer]);
    // /opt/app/old was hidden by the opaque marker; /etc/keep was rewritten world-writable by layer 1.
    expect(paths).toEqual([['/etc/keep', 1]]);
    expect(result.checks.find((c) => c.id === 'setuid')).toMatchObject({ path: '/usr/bin/tool', layer: 0 });
    expect(result.gaps).toEqual([]);
  });

  it('finds a private key that an upper layer deleted (it is still in the lower blob)', async () => {
    const ref = layout([
      layer([
        { path: 'root/.ssh/', type: 'dir' },
        { path: 'root/.ssh/id_ecdsa', data: privateKey, mode: 0o600 },
        { path: 'app/config.env', data: 'TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ012345\n' },
      ]),
      layer([{ path: 'root/.ssh/.wh.id_ecdsa' }]),
    ]);
    const result = await scanImage(ref, { skipVulnerabilities: true });
    const key = result.checks.find((c) => c.id === 'private-key');
    expect(key).toMatchObject({ path: '/root/.ssh/id_ecdsa', layer: 0, deleted: true, severity: 'high' });
    expect(key?.layerDigest).toBe(result.image.layers[0]!.digest);
    expect(result.checks.find((c) => c.id === 'secret-token')).toMatchObject({
      path: '/app/config.env',
      deleted: false,
    });
  });

  it('does not flag PEM markers inside binaries or public keys', async () => {
    const binary = Buffer.concat([Buffer.from('\x7fELF\0\0\0', 'latin1'), Buffer.from(privateKey)]);
    const ref = layout([
      layer([
        { path: 'usr/lib/libcrypto.so', data: binary },
        {
          path: 'etc/ssl/certs/ca.pem',
          data: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
        },
        { path: 'usr/share/doc/x/example.key', data: privateKey },
      ]),
    ]);
    const result = await scanImage(ref, { skipVulnerabilities: true });
    expect(result.checks.filter((c) => c.id === 'private-key' || c.id === 'secret-token')).toEqual([]);
  });

  it('reports root user, missing healthcheck and the latest tag from the config', async () => {
    const ref = layout([layer([{ path: 'bin/sh', data: 'x', mode: 0o755 }])], {}, 'latest');
    const ids = (await scanImage(ref, { skipVulnerabilities: true })).checks.map((c) => c.id).sort();
    expect(ids).toEqual(['latest-tag', 'no-healthcheck', 'root-user']);
    const clean = layout(
      [layer([{ path: 'bin/sh', data: 'x', mode: 0o755 }])],
      { User: '65532', Healthcheck: { Test: ['CMD', '/bin/true'] } },
      'v1',
    );
    expect((await scanImage(clean, { skipVulnerabilities: true })).checks).toEqual([]);
  });
});

describe('repeated layer blobs', () => {
  it('re-applies a repeated blob over the layers between (A, B, A) without reading it twice', async () => {
    const stanza = (name: string) =>
      `Package: ${name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0-1\n\n`;
    const a = layer([{ path: 'var/lib/dpkg/status', data: stanza('from-a') }]);
    const b = layer([{ path: 'var/lib/dpkg/status', data: stanza('from-b') }]);
    // Budget for one read of each blob only: a second read of A would exceed it.
    const budget = 2 * makeTar([{ path: 'var/lib/dpkg/status', data: stanza('from-a') }]).length + 1;
    const result = await scanImage(layout([a, b, a]), {
      skipVulnerabilities: true,
      limits: { maxTotalBytes: budget },
    });
    expect(result.packages.map((p) => [p.name, p.layer])).toEqual([['from-a', 0]]);
    expect(result.gaps).toEqual([]);
  });
});

describe('hostile layers are refused with the layer digest and path', () => {
  it('refuses path escapes', async () => {
    const ref = layout([layer([{ path: '../../etc/passwd', data: 'x' }])]);
    const error = await refusal(ref);
    expect(error.code).toBe('LAYER_UNSAFE');
    expect(error.message).toMatch(/escapes the image root/);
    expect(error.where).toMatch(/layer 0 sha256:[0-9a-f]{64}/);
    expect(error.where).toContain('../../etc/passwd');
  });

  it('refuses hard links to files outside the layer stack', async () => {
    const error = await refusal(
      layout([layer([{ path: 'x', type: 'hardlink', linkname: '../../etc/shadow' }])]),
    );
    expect(error.message).toMatch(/escapes the image root/);
    const missing = await refusal(layout([layer([{ path: 'x', type: 'hardlink', linkname: 'nowhere' }])]));
    expect(missing.message).toMatch(/does not exist/);
  });

  it('refuses absurd entry sizes before reading them', async () => {
    const tar = makeTar([{ path: 'huge', data: 'x', sizeOverride: 2 ** 40 }]);
    const error = await refusal(layout([gzLayer(tar)]));
    expect(error.message).toMatch(/entry of 1099511627776 bytes exceeds/);
    expect(error.where).toContain('huge');
  });

  it('bounds pax headers per layer, yet accepts a big layer with a pax header on every file', async () => {
    const record = (key: string, value: string) => {
      const body = ` ${key}=${value}\n`;
      let n = body.length + 1;
      while (String(n).length + body.length !== n) n = String(n).length + body.length;
      return `${n}${body}`;
    };
    const entries: TestEntry[] = [];
    for (let i = 0; i < 20_000; i++) {
      entries.push({ path: `PaxHeaders/f${i}`, type: 'pax', data: record('comment', 'c'.repeat(1000)) });
      entries.push({ path: `files/f${i}`, data: '' });
    }
    // 20 MB of pax records, over the 16 MiB floor, but each file's header is small.
    const big = await scanImage(layout([layer(entries)]), { skipVulnerabilities: true });
    expect(big.gaps).toEqual([]);
    const flood = Array.from({ length: 20 }, (_, i) => ({
      path: `g${i}`,
      type: 'global-pax' as const,
      data: record(`k${i}`, 'v'.repeat(1000 * 1000)),
    }));
    const error = await refusal(layout([layer(flood)]));
    expect(error.message).toMatch(/pax records add up to more than 1048576 bytes/);
  });

  it('bounds decompression bombs', async () => {
    const tar = makeTar([{ path: 'zeros', data: Buffer.alloc(8 * 1024 * 1024) }]);
    const error = await refusal(layout([gzLayer(tar)]), { maxLayerBytes: 1024 * 1024 });
    expect(error.message).toMatch(/decompression bomb/);
    expect(error.where).toMatch(/^layer 0 sha256:/);
  });

  it('refuses truncated archives, corrupt gzip, sparse files and a blob whose digest does not match', async () => {
    const tar = makeTar([{ path: 'a', data: Buffer.alloc(4096, 1) }]);
    const truncated = await refusal(layout([{ ...gzLayer(tar), blob: gzipSync(tar.subarray(0, 1024)) }]));
    expect(truncated.message).toMatch(/truncated/);
    const notGzip = await refusal(layout([{ ...gzLayer(tar), blob: Buffer.from('definitely not gzip') }]));
    expect(notGzip.message).toMatch(/not valid gzip/);
    const sparse = await refusal(layout([layer([{ path: 's', type: 'sparse' }])]));
    expect(sparse.message).toMatch(/sparse/);
    const ref = layout([gzLayer(tar)]);
    // Overwrite the blob in place: same name, different bytes.
    const [dir] = ref.slice(4).split(':');
    const { readFileSync } = await import('node:fs');
    const manifest = JSON.parse(readFileSync(join(dir!, 'index.json'), 'utf8')).manifests[0].digest.slice(7);
    const layerDigest = JSON.parse(
      readFileSync(join(dir!, 'blobs', 'sha256', manifest), 'utf8'),
    ).layers[0].digest.slice(7);
    writeFileSync(
      join(dir!, 'blobs', 'sha256', layerDigest),
      gzipSync(makeTar([{ path: 'b', data: 'evil' }])),
    );
    const mismatch = await refusal(ref);
    expect(mismatch.code).toBe('OCI_DIGEST_MISMATCH');
  });
});
