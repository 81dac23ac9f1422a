import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { GzipPool, gzipBuffer } from '../../src/image/gzip.js';

/** Mixed data like real layers: text, random (incompressible) and zero runs, interleaved at odd offsets. */
function mixedData(size: number): Buffer {
  const out = Buffer.alloc(size);
  let at = 0;
  let i = 0;
  while (at < size) {
    const kind = i++ % 4;
    const n = Math.min(size - at, 3000 + ((i * 7919) % 9000));
    if (kind === 0) out.fill(`line ${i} of some text that repeats\n`, at, at + n);
    else if (kind === 1) randomBytes(n).copy(out, at);
    else if (kind === 2) out.fill(0, at, at + n);
    else out.fill(String.fromCharCode(65 + (i % 16)).repeat(7), at, at + n);
    at += n;
  }
  return out;
}

const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('parallel chunked gzip', () => {
  const pools: GzipPool[] = [];
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });
  const pool = (n: number) => {
    const p = new GzipPool(n);
    pools.push(p);
    return p;
  };

  it('produces one gzip member that gunzip and gzip -t accept, with the same bytes back', async () => {
    const input = mixedData(3 * 1024 * 1024 + 12345);
    const gz = await gzipBuffer(input, { pool: pool(2), chunkSize: 256 * 1024 });
    expect(gunzipSync(gz).equals(input)).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-gz-'));
    try {
      writeFileSync(join(dir, 'x.gz'), gz);
      const test = spawnSync('gzip', ['-t', join(dir, 'x.gz')], { encoding: 'utf8' });
      expect(test.status, test.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives the same digest with 1, 2 or 3 workers', async () => {
    const input = mixedData(2 * 1024 * 1024 + 777);
    const digests = new Set<string>();
    for (const n of [1, 2, 3])
      digests.add(digest(await gzipBuffer(input, { pool: pool(n), chunkSize: 128 * 1024 })));
    expect(digests.size).toBe(1);
  });

  it('stores incompressible data with little overhead and compresses the rest', async () => {
    const random = randomBytes(1024 * 1024);
    const gz = await gzipBuffer(random, { pool: pool(2) });
    expect(gz.length).toBeLessThan(random.length * 1.01);
    expect(gunzipSync(gz).equals(random)).toBe(true);
    const zeros = Buffer.alloc(1024 * 1024);
    expect((await gzipBuffer(zeros, { pool: pool(2) })).length).toBeLessThan(10_000);
  });

  it('codes noise over a small alphabet (few repeats, low entropy) to about its entropy', async () => {
    const alphabet = randomBytes(16);
    const noise = Buffer.from(randomBytes(512 * 1024).map((b) => alphabet[b & 15]!));
    const gz = await gzipBuffer(noise, { pool: pool(2), chunkSize: 128 * 1024 });
    expect(gunzipSync(gz).equals(noise)).toBe(true);
    expect(gz.length).toBeLessThan(noise.length * 0.52); // 4 bits a byte, plus block headers
  });

  it('handles empty input and level 0', async () => {
    expect(gunzipSync(await gzipBuffer(Buffer.alloc(0), { pool: pool(1) })).length).toBe(0);
    const input = mixedData(100_000);
    expect(gunzipSync(await gzipBuffer(input, { pool: pool(1), level: 0 })).equals(input)).toBe(true);
  });
});
