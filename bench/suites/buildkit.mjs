// Dockerfile builds through vnfpipe's own BuildKit client on the reference workload (../shared/bench), as
// ratios to `docker build` on the same engine measured in the same run: cold (--no-cache, fresh context
// copy) and warm. Both do the same work in the same BuildKit; ours also copies the result into an OCI layout
// (`/images/get`), which docker build does not. Each run is broken down into phases: Node start-up and
// module loading, connection + session set-up, the solve (context transfer and BuildKit's own work), the
// export into the layout, and cleanup.
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, sh } from './util.mjs';

export const needsAnchors = true;

const BUILD_SCRIPT = `
const booted = performance.now();
const { buildDockerfile } = await import(${JSON.stringify('__DIST__')});
const loaded = performance.now();
const [context, layout, noCache] = process.argv.slice(2);
const ref = await buildDockerfile({ context, layout, name: 'app', noCache: noCache === '1' });
const phases = { startup: booted, load: loaded - booted, ...ref.phases };
console.log(JSON.stringify({ phases, digest: ref.digest }));
`;

const PHASES = ['startup', 'load', 'connect', 'solve', 'export', 'cleanup'];
const breakdown = (runs) =>
  PHASES.map((phase) => `${phase} ${Math.round(median(runs.map((r) => r.phases[phase] ?? 0)))}`).join(' · ');

export async function run({ workDir, sharedBench, anchors, runs, repo, log }) {
  const dist = join(repo, 'dist', 'buildkit', 'dockerfile.js');
  if (!existsSync(dist)) throw new Error(`${dist} is missing: run npm run build first`);
  const n = Math.max(3, Math.min(runs ?? 3, 5));
  mkdirSync(workDir, { recursive: true });
  const ctx = join(workDir, 'ctx');
  const base = join(workDir, 'base');
  log('making the reference workload and loading its base into the engine');
  sh(process.execPath, [join(sharedBench, 'make-workload.mjs'), ctx]);
  sh('bash', [join(sharedBench, 'make-base.sh'), base]);
  sh('skopeo', ['copy', '-q', `oci:${base}:latest`, 'docker-daemon:vnfbench-base:1']);
  const script = join(workDir, 'build.mjs');
  writeFileSync(script, BUILD_SCRIPT.replace('__DIST__', dist));

  const build = (context, layout, noCache) => {
    const start = process.hrtime.bigint();
    const out = sh(process.execPath, [script, context, layout, noCache ? '1' : '0']);
    const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
    return { wallMs, ...JSON.parse(out.trim().split('\n').at(-1)) };
  };

  const cold = [];
  const coldRuns = [];
  let context = ctx;
  for (let i = 0; i < n; i++) {
    // A fresh copy of the context each time, like the docker build anchor.
    context = join(workDir, `ctx-${i}`);
    rmSync(context, { recursive: true, force: true });
    cpSync(ctx, context, { recursive: true, preserveTimestamps: true });
    const layout = join(workDir, `layout-cold-${i}`);
    const r = build(context, layout, true);
    cold.push(r.wallMs);
    coldRuns.push(r);
    log(`cold ${i + 1}: ${r.wallMs.toFixed(0)} ms (${breakdown([r])}) ${r.digest}`);
    rmSync(layout, { recursive: true, force: true });
  }
  const warm = [];
  const warmRuns = [];
  const layout = join(workDir, 'layout-warm');
  for (let i = 0; i < n; i++) {
    const r = build(context, layout, false);
    warm.push(r.wallMs);
    warmRuns.push(r);
    log(`warm ${i + 1}: ${r.wallMs.toFixed(0)} ms (${breakdown([r])}) ${r.digest}`);
  }
  const ratio = (ms, anchor) => (anchors?.[anchor] ? { ratio: { anchor, value: ms / anchors[anchor] } } : {});
  const coldMs = median(cold);
  const warmMs = median(warm);
  return [
    {
      name: 'dockerfile cold',
      medianMs: coldMs,
      ...ratio(coldMs, 'docker_build_cold'),
      note: `${n} runs, child process, into an OCI layout, goal ≤ 1.0×`,
    },
    {
      name: 'dockerfile cold: export',
      medianMs: median(coldRuns.map((r) => r.phases.export)),
      note: `median ms by phase: ${breakdown(coldRuns)}`,
    },
    {
      name: 'dockerfile warm',
      medianMs: warmMs,
      ...ratio(warmMs, 'docker_build_warm'),
      note: `${n} runs, child process, into an OCI layout, goal ≤ 1.0×`,
    },
    {
      name: 'dockerfile warm: start-up',
      medianMs: median(warmRuns.map((r) => r.phases.startup + r.phases.load)),
      note: `median ms by phase: ${breakdown(warmRuns)}`,
    },
  ];
}
