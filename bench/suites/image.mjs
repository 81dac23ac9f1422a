// The native image builder on the reference workload (../shared/bench), as ratios to anchors measured in the
// same run: cold build vs `umoci insert` of the same three layers, warm rebuild vs a cached `docker build`.
// Each build runs in a child process (like the anchors' CLIs, start-up included). Peak RSS is measured for
// one layer of `b` (150 MiB) and of `b` ×4, to show memory stays bounded as layers grow.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, sh } from './util.mjs';

export const needsAnchors = true;

const BUILD_SCRIPT = `
import { buildImage } from ${JSON.stringify('__DIST__')};
const [context, stateDir, layersJson, base, compression] = process.argv.slice(2);
const start = performance.now();
const ref = await buildImage({
  context, stateDir, name: 'app', from: base ? 'oci:' + base + ':latest' : undefined,
  layers: JSON.parse(layersJson), compression: compression || undefined,
});
const ms = performance.now() - start;
console.log(JSON.stringify({ ms, digest: ref.digest, maxRssKb: process.resourceUsage().maxRSS }));
`;

/** Bytes of the built image's layers (the three workload layers, not the base). */
function layerBytes(layout) {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const manifest = JSON.parse(readFileSync(blob(layout, index.manifests[0].digest), 'utf8'));
  return manifest.layers.slice(-3).reduce((n, l) => n + l.size, 0);
}

/** What \`zstd -3\` (Debian's CLI, the level umoci and containerd default to) makes of the same tars. */
function zstdCliBytes(layout) {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const manifest = JSON.parse(readFileSync(blob(layout, index.manifests[0].digest), 'utf8'));
  let total = 0;
  for (const layer of manifest.layers.slice(-3)) {
    const out = sh('sh', ['-c', `gzip -dc ${blob(layout, layer.digest)} | zstd -3 -T0 -q -c | wc -c`]);
    total += Number(out.trim());
  }
  return total;
}

function blob(layout, digest) {
  return join(layout, 'blobs', 'sha256', digest.slice(7));
}

export async function run({ workDir, sharedBench, anchors, runs, repo, log }) {
  const dist = join(repo, 'dist', 'image', 'index.js');
  if (!existsSync(dist)) throw new Error(`${dist} is missing: run npm run build first`);
  const n = Math.max(3, Math.min(runs ?? 3, 5));
  mkdirSync(workDir, { recursive: true });
  const ctx = join(workDir, 'ctx');
  const base = join(workDir, 'base');
  log('making the reference workload and base image');
  sh(process.execPath, [join(sharedBench, 'make-workload.mjs'), ctx]);
  sh('bash', [join(sharedBench, 'make-base.sh'), base]);
  const script = join(workDir, 'build.mjs');
  writeFileSync(script, BUILD_SCRIPT.replace('__DIST__', dist));

  const layers = [{ files: { a: '/app/a' } }, { files: { b: '/app/b' } }, { files: { c: '/app/c' } }];
  const build = (context, stateDir, layerSpecs, withBase, compression = '') => {
    const start = process.hrtime.bigint();
    const out = sh(process.execPath, [
      script,
      context,
      stateDir,
      JSON.stringify(layerSpecs),
      withBase ? base : '',
      compression,
    ]);
    const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
    return { wallMs, ...JSON.parse(out.trim().split('\n').at(-1)) };
  };

  const state = join(workDir, 'state');
  const cold = [];
  const coldInProcess = [];
  const warmInProcess = [];
  const digests = new Set();
  const coldZstd = [];
  const zstdDigests = new Set();
  for (let i = 0; i < n; i++) {
    rmSync(state, { recursive: true, force: true });
    const r = build(ctx, state, layers, true);
    cold.push(r.wallMs);
    coldInProcess.push(r.ms);
    digests.add(r.digest);
    log(`cold ${i + 1}: ${r.wallMs.toFixed(0)} ms (in-process ${r.ms.toFixed(0)} ms) ${r.digest}`);
    // Interleaved with the gzip builds, so load from other tenants hits both alike.
    const zstdState = join(workDir, 'state-zstd');
    rmSync(zstdState, { recursive: true, force: true });
    const z = build(ctx, zstdState, layers, true, 'zstd');
    coldZstd.push(z.wallMs);
    zstdDigests.add(z.digest);
    log(`cold zstd ${i + 1}: ${z.wallMs.toFixed(0)} ms ${z.digest}`);
  }
  const sizes = {
    gzip: layerBytes(join(state, 'oci')),
    zstd: layerBytes(join(workDir, 'state-zstd', 'oci')),
    zstdCli: zstdCliBytes(join(state, 'oci')),
  };
  log(`layer bytes: ${JSON.stringify(sizes)}`);
  const warm = [];
  for (let i = 0; i < n; i++) {
    const r = build(ctx, state, layers, true);
    warm.push(r.wallMs);
    warmInProcess.push(r.ms);
    digests.add(r.digest);
    log(`warm ${i + 1}: ${r.wallMs.toFixed(0)} ms (in-process ${r.ms.toFixed(0)} ms)`);
  }

  // Peak memory: one layer of b, then of four copies of b (600 MiB of input).
  const big = join(workDir, 'big');
  mkdirSync(big, { recursive: true });
  for (let i = 0; i < 4; i++) cpSync(join(ctx, 'b'), join(big, `b${i}`), { recursive: true });
  const rss = {};
  for (const [name, context, from] of [
    ['1x', ctx, 'b'],
    ['4x', big, '.'],
  ]) {
    const dir = join(workDir, `rss-${name}`);
    rmSync(dir, { recursive: true, force: true });
    const r = build(context, dir, [{ files: { [from]: '/data' } }], false);
    rss[name] = { mb: r.maxRssKb / 1024, ms: r.wallMs };
    log(`peak RSS ${name} layer b: ${(r.maxRssKb / 1024).toFixed(0)} MB in ${r.wallMs.toFixed(0)} ms`);
    rmSync(dir, { recursive: true, force: true });
  }
  rmSync(big, { recursive: true, force: true });

  const ratio = (ms, anchor) => (anchors?.[anchor] ? { ratio: { anchor, value: ms / anchors[anchor] } } : {});
  const coldMs = median(cold);
  const warmMs = median(warm);
  const reproducible = digests.size === 1 ? 'same digest every run' : `${digests.size} different digests!`;
  // In-process times are what a `vnfpipe run` pays (Node is already started); child-process wall times
  // include Node's start-up (about 0.1 s here), which the anchors' Go CLIs barely have.
  const coldIn = median(coldInProcess);
  const warmIn = median(warmInProcess);
  return [
    {
      name: 'image build cold',
      medianMs: coldMs,
      ...ratio(coldMs, 'umoci_build_cold'),
      note: `${n} runs, child process, goal ≤ 1.0×, ${reproducible}`,
    },
    { name: 'image build cold in-process', medianMs: coldIn, ...ratio(coldIn, 'umoci_build_cold') },
    {
      name: 'image build cold zstd',
      medianMs: median(coldZstd),
      ...ratio(median(coldZstd), 'umoci_build_cold'),
      note: `opt-in tar+zstd (level 1), ${zstdDigests.size === 1 ? 'same digest every run' : `${zstdDigests.size} different digests!`}; layers ${sizes.zstd} bytes = ${((sizes.zstd / sizes.gzip) * 100).toFixed(1)}% of our gzip (${sizes.gzip}), ${((sizes.zstd / sizes.zstdCli) * 100).toFixed(1)}% of zstd -3 (${sizes.zstdCli}; Debian's umoci 0.4.7 has no zstd)`,
    },
    { name: 'image build cold vs docker', medianMs: coldMs, ...ratio(coldMs, 'docker_build_cold') },
    {
      name: 'image build warm',
      medianMs: warmMs,
      ...ratio(warmMs, 'docker_build_warm'),
      note: `${n} runs, child process incl. node start-up, goal ≤ 1.0×`,
    },
    { name: 'image build warm in-process', medianMs: warmIn, ...ratio(warmIn, 'docker_build_warm') },
    { name: 'peak RSS, layer b 1x', medianMs: rss['1x'].ms, note: `${rss['1x'].mb.toFixed(0)} MB` },
    {
      name: 'peak RSS, layer b 4x',
      medianMs: rss['4x'].ms,
      note: `${rss['4x'].mb.toFixed(0)} MB (${(rss['4x'].mb / rss['1x'].mb).toFixed(2)}× the 1x layer)`,
    },
  ];
}
