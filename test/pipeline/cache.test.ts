/**
 * The step cache's own machinery on real files: the stat-keyed memo of content hashes (trusted only while a
 * file's stat is unchanged and its timestamps are clearly older than the hash), and cache entries that a
 * killed process leaves whole or absent, never torn.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { imageContentFiles } from '../../src/oci/content-files.js';
import { StepCache } from '../../src/pipeline/cache.js';
import { FileHashMemo, RACY_MARGIN_NS } from '../../src/pipeline/filememo.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const temp = () => mkdtempSync(join(tmpdir(), 'vnfpipe-cache-'));

/** A memo file whose one entry matches `file`'s stat now, hashed `afterNs` after its newest timestamp. */
function craftMemo(
  memoFile: string,
  file: string,
  hash: string,
  afterNs: bigint,
  change: Partial<{ size: bigint }> = {},
) {
  const st = statSync(file, { bigint: true });
  // biome-ignore lint/complexity/useMathMinMax: bigints, which Math.max does not take
  const newest = st.ctimeNs < st.mtimeNs ? st.mtimeNs : st.ctimeNs;
  const entry = [
    st.size + (change.size ?? 0n),
    st.mtimeNs,
    st.ctimeNs,
    st.ino,
    st.dev,
    newest + afterNs,
    hash,
  ];
  writeFileSync(memoFile, JSON.stringify({ format: 1, entries: { [file]: entry.map(String) } }));
}

describe('the memo of file hashes', () => {
  it('answers from the memo only for an unchanged stat whose timestamps are older than the hash', async () => {
    const dir = temp();
    const file = join(dir, 'input.txt');
    writeFileSync(file, 'real content\n');
    const memoFile = join(dir, 'memo.json');
    const planted = 'f'.repeat(64);

    // Trusted: the memo's (deliberately wrong) hash comes back, so the file was not read.
    craftMemo(memoFile, file, planted, RACY_MARGIN_NS + 1_000_000_000n);
    const trusting = new FileHashMemo(memoFile);
    expect(await trusting.hash(file)).toBe(planted);
    expect(trusting.stats).toEqual({ hits: 1, hashed: 0 });

    // Racy: hashed within the timestamp margin, so a same-size change in the same tick could hide; read.
    craftMemo(memoFile, file, planted, RACY_MARGIN_NS - 1_000_000n);
    const racy = new FileHashMemo(memoFile);
    expect(await racy.hash(file)).toBe(sha('real content\n'));
    expect(racy.stats).toEqual({ hits: 0, hashed: 1 });

    // Another size than recorded: read.
    craftMemo(memoFile, file, planted, RACY_MARGIN_NS + 1_000_000_000n, { size: 1n });
    expect(await new FileHashMemo(memoFile).hash(file)).toBe(sha('real content\n'));

    // A damaged memo is no memo.
    writeFileSync(memoFile, '{"format":1,"entries":{"/x":');
    expect(await new FileHashMemo(memoFile).hash(file)).toBe(sha('real content\n'));
  });

  it('sees a same-size change whose mtime was put back (ctime moves), and remembers across processes', async () => {
    const dir = temp();
    const file = join(dir, 'input.txt');
    writeFileSync(file, 'aaaa\n');
    const memoFile = join(dir, 'memo.json');
    const memo = new FileHashMemo(memoFile);
    expect(await memo.hash(file)).toBe(sha('aaaa\n'));
    await memo.flush();
    expect(existsSync(memoFile)).toBe(true);

    const { mtime } = statSync(file);
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(file, 'bbbb\n');
    utimesSync(file, mtime, mtime);
    expect(await new FileHashMemo(memoFile).hash(file)).toBe(sha('bbbb\n'));
    await expect(new FileHashMemo(memoFile).hash(join(dir, 'missing'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });

  it('re-hashes a just-written file until its timestamps are older than the hash, then trusts the memo', async () => {
    const dir = temp();
    const file = join(dir, 'input.txt');
    writeFileSync(file, 'content\n');
    const memoFile = join(dir, 'memo.json');
    const fresh = new FileHashMemo(memoFile);
    expect(await fresh.hash(file)).toBe(sha('content\n'));
    await fresh.flush();
    // Hashed within the margin of the write: racy, so read again.
    const soon = new FileHashMemo(memoFile);
    expect(await soon.hash(file)).toBe(sha('content\n'));
    expect(soon.stats).toEqual({ hits: 0, hashed: 1 });
    await new Promise((r) => setTimeout(r, Number(RACY_MARGIN_NS / 1_000_000n) + 100));
    // Still the racy entry: read once more, now well after the write, and remembered as such.
    const later = new FileHashMemo(memoFile);
    expect(await later.hash(file)).toBe(sha('content\n'));
    expect(later.stats).toEqual({ hits: 0, hashed: 1 });
    await later.flush();
    const trusted = new FileHashMemo(memoFile);
    expect(await trusted.hash(file)).toBe(sha('content\n'));
    expect(trusted.stats).toEqual({ hits: 1, hashed: 0 });
  });
});

describe('cache entries', () => {
  it('are whole or absent after the writing process is killed, however often', async () => {
    const dir = temp();
    const stateDir = join(dir, '.vnfpipe');
    // A child that rewrites one large entry as fast as it can (the step cache of the built package).
    const script = `
      import { StepCache } from ${JSON.stringify(join(ROOT, 'dist', 'pipeline', 'cache.js'))};
      const cache = new StepCache(${JSON.stringify(stateDir)}, 'killed', ${JSON.stringify(dir)});
      const fingerprint = { options: 'o', upstream: 'u', inputs: {} };
      const big = 'x'.repeat(6 * 1024 * 1024);
      for (let i = 0; ; i++) {
        await cache.store('step', fingerprint, { i, big }, [], 'run-' + i);
        if (i === 0) process.stdout.write('stored\\n');
      }
    `;
    const entryFile = join(stateDir, 'cache', 'steps', 'killed', 'step.json');
    const reader = new StepCache(stateDir, 'killed', dir);
    for (let round = 0; round < 8; round++) {
      const child: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((ok, fail) => {
        child.stdout!.once('data', () => ok());
        child.once('exit', (code) => fail(new Error(`writer exited early (${code})`)));
      });
      // Killed while it writes: a temp file being filled, or the entry itself shorter than a whole one.
      const steps = join(stateDir, 'cache', 'steps', 'killed');
      const deadline = Date.now() + 10_000;
      for (;;) {
        const writing =
          readdirSync(steps).some((name) => name.endsWith('.tmp')) ||
          (statSync(entryFile, { throwIfNoEntry: false })?.size ?? 0) < 6 * 1024 * 1024;
        if (writing || Date.now() > deadline) break;
        await new Promise((r) => setImmediate(r));
      }
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const text = readFileSync(entryFile, 'utf8');
      const entry = JSON.parse(text) as { output: { big: string }; runId: string };
      expect(entry.output.big.length).toBe(6 * 1024 * 1024);
      const read = await reader.read('step');
      expect(read?.runId).toBe(entry.runId);
    }
  });
});

describe('what stands for an image in a fingerprint', () => {
  it('is its digest when known, a layout index or archive file, and nothing for a movable registry tag', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(imageContentFiles({ ref: 'oci:.vnfpipe/oci:img', digest })).toEqual([]);
    expect(imageContentFiles('oci:layout:img')).toEqual(['layout/index.json']);
    expect(imageContentFiles('docker-archive:vfw.tar:vfw:1')).toEqual(['vfw.tar']);
    expect(imageContentFiles(`127.0.0.1:5000/vnf/vfw@${digest}`)).toEqual([]);
    expect(imageContentFiles('127.0.0.1:5000/vnf/vfw:1')).toBeUndefined();
    expect(imageContentFiles({ ref: '127.0.0.1:5000/vnf/vfw:1', digest: '' })).toBeUndefined();
  });
});
