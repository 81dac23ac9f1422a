// The example VNF pipeline (vnfpipe.config.ts) end to end on the Docker engine: one cold run from an empty
// state folder, then reruns with nothing changed, where the build, scan and push steps come from the cache.
// Reports each step's time (from the run's NDJSON events), the start-up of the process around the run, and
// the sum of the build/scan/push steps of a rerun (the goal: ≤ 100 ms together). Deploy and verify always run:
// their time is the engine's and the probes' own waits, listed per step.
// It needs the Docker engine, gcc and docker-registry (scripts/setup-deps.sh); without an engine it says so.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { median, sh, startRegistry } from './util.mjs';

export const needsAnchors = false;

const DOCKER = '/usr/bin/docker';
const CACHEABLE_STAGES = new Set(['build', 'scan', 'push']);

/** A /16 prefix whose x.1, x.2 and x.3 /24s no engine network uses (the example's three networks). */
function freeNet() {
  const ids = sh(DOCKER, ['network', 'ls', '-q']).split('\n').filter(Boolean);
  const used = sh(DOCKER, [
    'network',
    'inspect',
    '--format',
    '{{range .IPAM.Config}}{{.Subnet}} {{end}}',
    ...ids,
  ]);
  for (let tries = 0; tries < 200; tries++) {
    const prefix = `10.${200 + Math.floor(Math.random() * 50)}`;
    if (!used.includes(`${prefix}.`)) return prefix;
  }
  throw new Error('no free 10.2xx.0.0/16 for the example networks');
}

/** `vnfpipe run --json` in the project: wall time, the run's duration and every step's end event. */
function runPipelineOnce(cli, cwd, env) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, [cli, 'run', '--json'], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk) => {
      err += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
      const events = out
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line));
      const end = events.find((event) => event.type === 'run.end');
      if (code !== 0 || !end) {
        const failed = events.filter((event) => event.type === 'step.end' && event.status === 'failed');
        reject(
          new Error(
            `vnfpipe run exited ${code}: ${failed.map((e) => `${e.step}: ${e.error}`).join('; ') || err.slice(-2000)}`,
          ),
        );
        return;
      }
      resolve({ wallMs, runMs: end.durationMs, steps: events.filter((event) => event.type === 'step.end') });
    });
  });
}

/** Containers and networks this suite's workload name made (never anything else). */
function removeWorkload(name) {
  const containers = sh(DOCKER, ['ps', '-aq', '--filter', `name=${name}`])
    .split('\n')
    .filter(Boolean);
  if (containers.length) spawnSync(DOCKER, ['rm', '-f', ...containers], { stdio: 'ignore' });
  const networks = sh(DOCKER, ['network', 'ls', '-q', '--filter', `name=${name}-`])
    .split('\n')
    .filter(Boolean);
  if (networks.length) spawnSync(DOCKER, ['network', 'rm', ...networks], { stdio: 'ignore' });
}

export async function run({ workDir, repo, runs, log }) {
  if (spawnSync(DOCKER, ['info'], { stdio: 'ignore' }).status !== 0)
    return [{ name: 'pipeline', medianMs: 0, note: 'skipped: no Docker engine answers' }];
  const project = join(workDir, 'project');
  mkdirSync(join(project, 'node_modules'), { recursive: true });
  cpSync(join(repo, 'vnfpipe.config.ts'), join(project, 'vnfpipe.config.ts'));
  cpSync(join(repo, 'pipelines'), join(project, 'pipelines'), { recursive: true });
  symlinkSync(repo, join(project, 'node_modules', 'vnfpipe'), 'dir');
  const cli = join(repo, 'bin', 'vnfpipe.js');
  // Its own registry for the whole suite (a user's registry), so every run pushes to one that is up.
  const registry = await startRegistry(join(workDir, 'registry'));
  const name = `vfwbench${process.pid}`;
  const env = {
    ...process.env,
    CI: 'true',
    NO_COLOR: '1',
    VFW_NAME: name,
    VFW_NET: freeNet(),
    VNFPIPE_REGISTRY: registry.host,
  };
  try {
    log(`pipeline: cold run of the example (workload ${name}, networks ${env.VFW_NET}.x)`);
    const cold = await runPipelineOnce(cli, project, env);
    const reruns = [];
    for (let i = 0; i < runs; i++) {
      reruns.push(await runPipelineOnce(cli, project, env));
      log(`pipeline: rerun ${i + 1}/${runs}: ${Math.round(reruns.at(-1).wallMs)} ms`);
    }
    const plan = JSON.parse(sh(process.execPath, [cli, 'plan', '--json'], { cwd: project, env }));
    const stages = new Map(plan.steps.map((step) => [step.id, step.stage]));
    const stageOf = (id) => stages.get(id);
    const stepMs = (result, id) => result.steps.find((step) => step.step === id)?.durationMs ?? 0;
    const ids = cold.steps.map((step) => step.step);
    const cachedSum = (result) =>
      result.steps
        .filter((s) => CACHEABLE_STAGES.has(stageOf(s.step)))
        .reduce((sum, s) => sum + s.durationMs, 0);
    const rows = [
      { name: 'cold run (process wall)', medianMs: cold.wallMs, note: `run ${Math.round(cold.runMs)} ms` },
      {
        name: 'rerun (process wall)',
        medianMs: median(reruns.map((r) => r.wallMs)),
        note: `run ${Math.round(median(reruns.map((r) => r.runMs)))} ms; ${runs} runs`,
      },
      {
        name: 'rerun: build+scan+push steps',
        medianMs: median(reruns.map(cachedSum)),
        note: `goal ≤ 100 ms; cold ${Math.round(cachedSum(cold))} ms`,
      },
    ];
    for (const id of ids) {
      const last = reruns.at(-1).steps.find((step) => step.step === id);
      rows.push({
        name: `step ${id}`,
        medianMs: median(reruns.map((r) => stepMs(r, id))),
        note: `${stageOf(id)}; rerun ${last?.status ?? 'not run'}${last?.reason ? ` (${last.reason})` : ''}; cold ${Math.round(stepMs(cold, id))} ms`,
      });
    }
    return rows;
  } finally {
    removeWorkload(name);
    await registry.stop();
  }
}
