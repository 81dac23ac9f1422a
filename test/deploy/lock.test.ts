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
    const log: string[] = [];
    const hold = (who: string) =>
      s.withLock('vfw', async () => {
        log.push(`in ${who}`);
        // Yield several times: without the lock, another holder would enter here.
        for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
        log.push(`out ${who}`);
      });
    await Promise.all([hold('a'), hold('b'), hold('c')]);
    // Each holder leaves before the next enters: in/out pairs of the same holder, one after the other.
    expect(log).toHaveLength(6);
    for (let i = 0; i < log.length; i += 2) {
      expect(log[i]!.startsWith('in ')).toBe(true);
      expect(log[i + 1]).toBe(`out ${log[i]!.slice(3)}`);
    }
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
