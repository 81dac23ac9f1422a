// Where a cold build's CPU goes, phase by phase, on the reference workload's layers (../shared/bench): the
// tar stream with its file reads, each hash, and the compression worker's own steps (classifying blocks,
// stored, Huffman-only and deflate pieces) — run single-threaded here so each is counted alone — next to
// zstd level 1 (the opt-in codec) on the same bytes. Sums of CPU time, not wall time: on 2 shared cores
// the wall time of a build is about this sum divided by the cores it gets.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import zlib from 'node:zlib';
import { sh } from './util.mjs';

export const needsAnchors = true;

const cpu = (fn) => {
  const start = process.cpuUsage();
  const result = fn();
  const used = process.cpuUsage(start);
  return [result, (used.user + used.system) / 1000];
};

export async function run({ workDir, sharedBench, repo, log }) {
  mkdirSync(workDir, { recursive: true });
  const ctx = join(workDir, 'ctx');
  sh(process.execPath, [join(sharedBench, 'make-workload.mjs'), ctx]);
  const dist = (p) => pathToFileURL(join(repo, 'dist', p)).href;
  const { collectEntries } = await import(dist('image/entries.js'));
  const { streamTar } = await import(dist('image/layer.js'));
  const { GZIP_WORKER_SOURCE } = await import(dist('image/gzip-worker.js'));
  const require = createRequire(join(repo, 'package.json'));
  // The worker's code, instrumented: the same functions, timed per piece class.
  const source = `${GZIP_WORKER_SOURCE.replace("const { parentPort } = require('node:worker_threads');", '').replace(/\/\/ zstd \(opt-in[\s\S]*$/, '')}
    const ms = { classify: 0, stored: 0, huffman: 0, deflate: 0 };
    const now = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
    function timedChunk(buf, level) {
      let runStart = 0, runClass = -1;
      const parts = [];
      const flush = (end) => {
        if (end <= runStart) return;
        const t = now();
        if (runClass === STORED) stored(buf, runStart, end, parts);
        else parts.push(deflate(buf.subarray(runStart, end), level, runClass === HUFFMAN));
        ms[runClass === STORED ? 'stored' : runClass === HUFFMAN ? 'huffman' : 'deflate'] += now() - t;
        runStart = end;
      };
      for (let at = 0; at < buf.length; at += BLOCK) {
        const end = Math.min(at + BLOCK, buf.length);
        const t = now();
        const cls = classify(buf, at, end);
        ms.classify += now() - t;
        if (runClass !== -1 && cls !== runClass) flush(at);
        runClass = cls;
      }
      flush(buf.length);
      return parts.reduce((n, p) => n + p.length, 0);
    }
    return { timedChunk, ms };`;
  const zstd = require('@bokuweb/zstd-wasm');
  await zstd.init();
  const rows = [];
  for (const layer of ['a', 'b', 'c']) {
    const entries = await collectEntries({ files: { [layer]: `/app/${layer}` } }, ctx);
    // Tar encoding and file reads alone: a sink that keeps the chunks.
    const chunks = [];
    let chunk = Buffer.allocUnsafe(1024 * 1024);
    let filled = 0;
    const push = () => {
      chunks.push(chunk.subarray(0, filled));
      chunk = Buffer.allocUnsafe(1024 * 1024);
      filled = 0;
    };
    const sink = {
      space: () => ({ buffer: chunk, offset: filled, length: chunk.length - filled }),
      commit: (n) => {
        filled += n;
        if (filled === chunk.length) push();
      },
      write: (data) => {
        for (let at = 0; at < data.length; ) {
          const n = Math.min(data.length - at, chunk.length - filled);
          data.copy(chunk, filled, at, at + n);
          filled += n;
          at += n;
          if (filled === chunk.length) push();
        }
      },
    };
    const tarStart = process.cpuUsage();
    await streamTar(entries, 0, sink);
    if (filled) push();
    const tarUsed = process.cpuUsage(tarStart);
    const tarMs = (tarUsed.user + tarUsed.system) / 1000;
    const bytes = chunks.reduce((n, c) => n + c.length, 0);
    const [, sha] = cpu(() => {
      const h = createHash('sha256');
      for (const c of chunks) h.update(c);
      return h.digest();
    });
    const [, crc] = cpu(() => chunks.reduce((v, c) => zlib.crc32(c, v), 0));
    const worker = new Function('require', source)(require);
    const [gz, gzMs] = cpu(() => chunks.reduce((n, c) => n + worker.timedChunk(c, 1), 0));
    const [zs, zsMs] = cpu(() => {
      let n = 0;
      const all = Buffer.concat(chunks);
      for (let at = 0; at < all.length; at += 4 * 1024 * 1024)
        n += zstd.compress(all.subarray(at, at + 4 * 1024 * 1024), 1).length;
      return n;
    });
    const m = worker.ms;
    const f = (v) => Math.round(v);
    log(`layer ${layer}: ${bytes} bytes of tar, gzip ${gz}, zstd-1 ${zs}`);
    rows.push({
      name: `layer ${layer} gzip CPU`,
      medianMs: gzMs + tarMs + 2 * sha + crc,
      note: `tar+reads ${f(tarMs)} · sha256 ×2 ${f(2 * sha)} · crc32 ${f(crc)} · classify ${f(m.classify)} · stored ${f(m.stored)} · Huffman-only ${f(m.huffman)} · deflate ${f(m.deflate)} ms; ${bytes} → ${gz} bytes`,
    });
    rows.push({
      name: `layer ${layer} zstd-1 CPU`,
      medianMs: zsMs + tarMs + 2 * sha,
      note: `zstd ${f(zsMs)} ms; ${bytes} → ${zs} bytes (${((zs / gz) * 100).toFixed(1)}% of gzip)`,
    });
  }
  return rows;
}
