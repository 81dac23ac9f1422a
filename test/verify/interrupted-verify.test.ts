/**
 * What a killed verify leaves behind must not decide the next one: its probe containers (holding the
 * data-plane addresses the probes need) are found by label and removed, and a failure of verify's own
 * tooling is reported as such and never rolls back the release. Real Docker engine.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerTarget } from '../../src/deploy/docker/target.js';
import type { Workload } from '../../src/deploy/model.js';
import { deploy, rollback } from '../../src/deploy/step.js';
import { definePipeline } from '../../src/pipeline/define.js';
import type { RunEvent } from '../../src/pipeline/events.js';
import { runPipeline } from '../../src/pipeline/scheduler.js';
import { type ProbeSpec, probe } from '../../src/verify/probes.js';
import { verify } from '../../src/verify/step.js';
import { requireDocker } from '../support/docker.js';
import { busyboxInDocker, docker } from '../support/engine-images.js';

const id = process.pid.toString(36);
const name = `vi-${id}`;
// A /24 of its own per test process, away from the other tests' subnets.
const subnet = `10.236.${process.pid % 250}`;
const SINK = `${subnet}.20`;

function workload(): Omit<Workload, 'image'> & { image: string } {
  return {
    name,
    image: busyboxInDocker(),
    command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done'],
    networks: [{ role: 'data', internal: true, subnet: `${subnet}.0/24` }],
  };
}

/** A probe whose sink takes a fixed address on the data network (busybox forwards nothing: dropped). */
const dropped = (extra: Partial<Extract<ProbeSpec, { kind: 'traffic' }>> = {}): ProbeSpec =>
  probe.traffic({
    from: 'data',
    port: 5000,
    sink: { ip: SINK, port: 6000 },
    packets: 2,
    expect: 'dropped',
    attempts: 1,
    ...extra,
  });

function pipeline(probes: ProbeSpec[]) {
  return definePipeline('interrupted-verify', (p) => {
    const rel = p.step('deploy', deploy.docker({ workload: workload() }));
    const back = p.step('rollback', rollback({ release: rel.out, probes }));
    p.step('verify', verify({ release: rel.out, probes }), { onFailure: back });
  });
}

/** A process id that is certainly gone: a child that already exited. */
function deadPid(): number {
  return spawnSync('true').pid!;
}

describe('verify after an interrupted verify', () => {
  let stateDir: string;
  const leftovers: string[] = [];
  beforeAll(async () => {
    requireDocker();
    stateDir = mkdtempSync(join(tmpdir(), 'vnfpipe-interrupted-verify-'));
    const first = await runPipeline(pipeline([dropped()]), { cwd: stateDir, stateDir, concurrency: 1 });
    expect(first.steps.verify?.error).toBeUndefined();
  }, 120_000);
  afterAll(async () => {
    for (const container of leftovers) {
      try {
        docker('rm', '-f', container);
      } catch {
        // Removed by the verify.
      }
    }
    await new DockerTarget(stateDir).destroy(workload());
  });

  it('removes the probe containers a killed verify left (holding the sink address), passes, does not roll back', async () => {
    const network = `${name}-0-data`;
    const leftover = `vnfprobe-${name}-left`;
    const live = `vnfprobe-${name}-live`;
    leftovers.push(leftover, live);
    // The sink of a verify that was SIGKILLed: still running, still holding SINK.
    docker(
      'run',
      '-d',
      '--name',
      leftover,
      '--network',
      network,
      '--ip',
      SINK,
      '--label',
      `io.vnfpipe.probe-for=${name}`,
      '--label',
      `io.vnfpipe.verify-owner=${deadPid()}@${hostname()}`,
      busyboxInDocker(),
      'sleep',
      '600',
    );
    // A probe container of a verify that is still running (this process): not ours to remove.
    docker(
      'create',
      '--name',
      live,
      '--label',
      `io.vnfpipe.probe-for=${name}`,
      '--label',
      `io.vnfpipe.verify-owner=${process.pid}@${hostname()}`,
      busyboxInDocker(),
    );

    const logs: string[] = [];
    const result = await runPipeline(pipeline([dropped()]), {
      cwd: stateDir,
      stateDir,
      concurrency: 1,
      onEvent: (e) => e.type === 'step.log' && logs.push(e.line),
    });
    expect(result.steps.verify?.error).toBeUndefined();
    expect(result.status).toBe('ok');
    expect(result.steps.rollback?.status).toBe('skipped');
    expect(logs).toContain(`removing ${leftover}, left by an interrupted verify`);
    const remaining = docker(
      'ps',
      '-a',
      '--filter',
      `label=io.vnfpipe.probe-for=${name}`,
      '--format',
      '{{.Names}}',
    );
    expect(remaining).toBe(live);
    const summary = (result.outputs.verify as { summary: string }).summary;
    expect(summary.split('\n')[0]).toBe(`${name} revision 1 verified: 1 of 1 probes passed`);
    expect(summary).toMatch(/\n {2}pass traffic data→data dropped: 2 sent from .* 0 arrived at /);
  }, 120_000);

  it('fails verify as an infrastructure error when a probe container cannot start, and runs no rollback', async () => {
    const events: RunEvent[] = [];
    const result = await runPipeline(pipeline([dropped({ image: `vnfpipe-test/no-such-image-${id}:1` })]), {
      cwd: stateDir,
      stateDir,
      concurrency: 1,
      onEvent: (e) => events.push(e),
    });
    expect(result.status).toBe('failed');
    expect(result.exitCode).toBe(1);
    expect(result.steps.verify?.status).toBe('failed');
    expect(result.steps.verify?.error).toMatch(/probe container vnfprobe-.* cannot start: .*no-such-image/);
    expect(result.steps.verify?.error).toContain('not a verdict on the workload');
    const rollbackStep = result.steps.rollback!;
    expect(rollbackStep.status).toBe('skipped');
    expect(rollbackStep.reason).toBe(
      "not run: 'verify' failed in vnfpipe's tooling or environment, not in what it checks",
    );
    expect(events.some((e) => e.type === 'step.start' && e.step === 'rollback')).toBe(false);
    const end = events.find((e) => e.type === 'step.end' && e.step === 'verify');
    expect(end).toMatchObject({ status: 'failed', reason: expect.stringContaining('rollback not run') });
    // The release was not touched: revision 1 still runs and is still the verified one.
    const history = await new DockerTarget(stateDir).history(name);
    expect(history.map((r) => [r.revision, r.status, r.state])).toEqual([[1, 'verified', 'running']]);
  }, 120_000);

  it('treats a probe tool that cannot compile as an infrastructure error too', async () => {
    // The compiled tool is cached in the state folder: without it and without a compiler, verify cannot probe.
    rmSync(join(stateDir, 'tools'), { recursive: true, force: true });
    const compiler = process.env.CC;
    process.env.CC = join(stateDir, 'no-such-cc');
    try {
      const result = await runPipeline(pipeline([dropped()]), { cwd: stateDir, stateDir, concurrency: 1 });
      expect(result.steps.verify?.error).toMatch(/cannot compile the probe tool/);
      expect(result.steps.rollback?.status).toBe('skipped');
    } finally {
      if (compiler === undefined) delete process.env.CC;
      else process.env.CC = compiler;
    }
  }, 120_000);

  it('still calls a stopped workload a failed verify (and rolls back), not a tooling failure', async () => {
    const probes = [probe.interface({ name: 'eth0', attempts: 1 })];
    const crashing = definePipeline('crashing', (p) => {
      const rel = p.step('deploy', deploy.docker({ workload: workload() }));
      // The workload dies between deploy and verify.
      const crash = p.step('crash', async () => docker('stop', '-t', '1', `${name}-r1`), { needs: [rel] });
      const back = p.step('rollback', rollback({ release: rel.out, probes }));
      p.step('verify', verify({ release: rel.out, probes }), { needs: [crash], onFailure: back });
    });
    const result = await runPipeline(crashing, { cwd: stateDir, stateDir, concurrency: 1 });
    expect(result.steps.verify?.error).toMatch(/container .*-r1 is not running/);
    expect(result.steps.verify?.reason).toBeUndefined();
    // The rollback ran: it restarted the last verified revision and re-verified it.
    expect(result.steps.rollback?.status).toBe('ok');
  }, 120_000);
});
