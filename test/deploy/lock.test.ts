import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ReleaseStore } from '../../src/deploy/history.js';

const store = () => {
  const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-lock-'));
  return { dir, store: new ReleaseStore(dir, 'docker') };
};

describe('the deploy lock', () => {
  it('serialises two deploys of one workload', async () => {
    const { store: s } = store();
    const spans: Array<[number, number]> = [];
    const hold = () =>
      s.withLock('vfw', async () => {
        const start = performance.now();
        await new Promise((r) => setTimeout(r, 150));
        spans.push([start, performance.now()]);
      });
    await Promise.all([hold(), hold(), hold()]);
    spans.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
  });

  it('takes over a lock whose process is gone, and waits for one whose process lives', async () => {
    const { dir, store: s } = store();
    mkdirSync(join(dir, 'locks'), { recursive: true });
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.once('exit', r));
    writeFileSync(join(dir, 'locks', 'docker-vfw.lock'), `${dead.pid}@${hostname()}@x`);
    await expect(s.withLock('vfw', async () => 'ran')).resolves.toBe('ran');

    writeFileSync(join(dir, 'locks', 'docker-vfw.lock'), `${process.ppid}@${hostname()}@y`);
    await expect(s.withLock('vfw', async () => 'ran', 600)).rejects.toThrow(
      `another run (${process.ppid}) is deploying vfw`,
    );
  });
});
