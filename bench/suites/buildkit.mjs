// Dockerfile builds through vnfpipe's own BuildKit client on the reference workload (../shared/bench), as
// ratios to `docker build` on the same engine: cold (--no-cache, fresh context copy) and warm. Both do the same
// work in the same BuildKit. Two destinations: the engine's image store (`--tag docker-daemon:…`, what docker
// build does) and an OCI layout (the image is then streamed out of the engine, `/images/get`, which docker
// build never does). Besides the anchors timed before the suite, `docker build` is timed inside the same loop,
// right before each of our builds, so both see the same load. Each run is broken down into phases: process
// start-up and module loading (the wall time minus the rest), connect, the solve (context transfer and
// BuildKit's own work), the export, and cleanup.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { median, sh } from './util.mjs';

export const needsAnchors = true;

const DOCKER = '/usr/bin/docker';
const PHASES = ['startup', 'connect', 'solve', 'export', 'cleanup'];
const breakdown = (runs) =>
  PHASES.map((phase) => `${phase} ${Math.round(median(runs.map((r) => r.phases[phase] ?? 0)))}`).join(' · ');

const timed = (fn) => {
  const start = process.hrtime.bigint();
  const out = fn();
  return { wallMs: Number(process.hrtime.bigint() - start) / 1e6, out };
};

export async function run({ workDir, sharedBench, anchors, runs, repo, log }) {
  const cli = join(repo, 'bin', 'vnfpipe.js');
  if (!existsSync(join(repo, 'dist', 'bundle', 'cli.js')))
    throw new Error('dist is missing: run npm run build first');
  if (spawnSync(DOCKER, ['info'], { stdio: 'ignore' }).status !== 0)
    return [{ name: 'dockerfile', medianMs: 0, note: 'skipped: no Docker engine answers' }];
  const n = Math.max(3, Math.min(runs ?? 3, 5));
  mkdirSync(workDir, { recursive: true });
  const ctx = join(workDir, 'ctx');
  const base = join(workDir, 'base');
  log('making the reference workload and loading its base into the engine');
  sh(process.execPath, [join(sharedBench, 'make-workload.mjs'), ctx]);
  sh('bash', [join(sharedBench, 'make-base.sh'), base]);
  sh('skopeo', ['copy', '-q', `oci:${base}:latest`, 'docker-daemon:vnfbench-base:1']);

  // Every image the suite's builds made, removed at the end: a cold build per run is 180 MB in the engine.
  const made = new Set();
  const ours = (context, tag, noCache) => {
    const args = [
      'image',
      'build',
      '-f',
      join(context, 'Dockerfile'),
      '--context',
      context,
      '--json',
      '-t',
      tag,
    ];
    const { wallMs, out } = timed(() =>
      sh(process.execPath, [cli, ...args, ...(noCache ? ['--no-cache'] : [])]),
    );
    const result = JSON.parse(out.trim().split('\n').at(-1));
    if (result.imageId) made.add(result.imageId);
    const measured = Object.values(result.phasesMs).reduce((a, b) => a + b, 0);
    return { wallMs, phases: { startup: wallMs - measured, ...result.phasesMs } };
  };
  const docker = (context, tag, noCache) => {
    const { wallMs, out } = timed(() =>
      sh(
        DOCKER,
        ['build', ...(noCache ? ['--no-cache'] : []), '--network', 'host', '-q', '-t', tag, context],
        {
          env: { ...process.env, DOCKER_BUILDKIT: '1' },
        },
      ),
    );
    // `-q` prints the image id: each cold build makes a new image and leaves the previous one untagged.
    const id = out.trim().split('\n').at(-1);
    if (id?.startsWith('sha256:')) made.add(id);
    return wallMs;
  };
  // A fresh hard-linked copy of the context each cold run, like the anchor.
  let copies = 0;
  const freshContext = () => {
    const dir = join(workDir, `ctx-${copies++}`);
    cpSync(ctx, dir, { recursive: true, preserveTimestamps: true });
    return dir;
  };

  const destinations = {
    engine: () => `docker-daemon:vnfbench/ours:engine`,
    layout: (i) => `oci:${join(workDir, `layout-${i}`)}:app`,
  };
  const rows = [];
  const ratio = (ms, anchor) => (anchors?.[anchor] ? { ratio: { anchor, value: ms / anchors[anchor] } } : {});
  for (const [dest, tagOf] of Object.entries(destinations)) {
    const cold = [];
    const dockerCold = [];
    for (let i = 0; i < n; i++) {
      const dctx = freshContext();
      dockerCold.push(docker(dctx, 'vnfbench/app:loop', true));
      const octx = freshContext();
      const r = ours(octx, tagOf(`cold-${i}`), true);
      cold.push(r);
      log(
        `${dest} cold ${i + 1}: ${r.wallMs.toFixed(0)} ms (${breakdown([r])}); docker build ${dockerCold.at(-1).toFixed(0)} ms`,
      );
      rmSync(dctx, { recursive: true, force: true });
      if (i < n - 1) rmSync(octx, { recursive: true, force: true });
    }
    // Warm: the last cold context again, for both (each tool keeps its own transfer state per context path).
    const warmCtx = join(workDir, `ctx-${copies - 1}`);
    const dockerWarmCtx = freshContext();
    docker(dockerWarmCtx, 'vnfbench/app:loop', false);
    const warm = [];
    const dockerWarm = [];
    for (let i = 0; i < n; i++) {
      dockerWarm.push(docker(dockerWarmCtx, 'vnfbench/app:loop', false));
      const r = ours(warmCtx, tagOf(`cold-${n - 1}`), false);
      warm.push(r);
      log(
        `${dest} warm ${i + 1}: ${r.wallMs.toFixed(0)} ms (${breakdown([r])}); docker build ${dockerWarm.at(-1).toFixed(0)} ms`,
      );
    }
    for (const [kind, results, loop] of [
      ['cold', cold, dockerCold],
      ['warm', warm, dockerWarm],
    ]) {
      const ms = median(results.map((r) => r.wallMs));
      rows.push({
        name: `dockerfile ${kind} into ${dest === 'engine' ? 'the engine' : 'a layout'}`,
        medianMs: ms,
        ...ratio(ms, `docker_build_${kind}`),
        note: `${n} runs; ${(ms / median(loop)).toFixed(2)}× docker build timed in the same loop (${median(loop).toFixed(0)} ms); goal ≤ 1.0×`,
      });
      rows.push({
        name: `dockerfile ${kind} into ${dest === 'engine' ? 'the engine' : 'a layout'}: phases`,
        medianMs: median(results.map((r) => r.phases.solve)),
        note: `median ms by phase: ${breakdown(results)}`,
      });
    }
    rmSync(dockerWarmCtx, { recursive: true, force: true });
  }
  spawnSync(DOCKER, ['image', 'rm', '-f', 'vnfbench/ours:engine', 'vnfbench/app:loop'], { stdio: 'ignore' });
  // Ids no tag names any more; one still in use (a container, another tag) stays, without -f.
  if (made.size) spawnSync(DOCKER, ['image', 'rm', ...made], { stdio: 'ignore' });
  return rows;
}
