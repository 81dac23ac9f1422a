import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerTarget } from '../../src/deploy/docker/target.js';
import type { Workload } from '../../src/deploy/model.js';
import { deploy, rollback } from '../../src/deploy/step.js';
import { definePipeline } from '../../src/pipeline/define.js';
import { runPipeline } from '../../src/pipeline/scheduler.js';
import { cnf, type ProbeSpec, probe } from '../../src/verify/probes.js';
import { verify } from '../../src/verify/step.js';
import { requireDocker } from '../support/docker.js';
import { docker } from '../support/engine-images.js';
import { vfwImage } from '../support/vfw-image.js';

const id = process.pid.toString(36);
const name = `vfw-${id}`;
const net = (n: number) => `10.232.${n}`;
const SINK = `${net(3)}.20`;

function workload(image: string): Omit<Workload, 'image'> & { image: string } {
  return {
    name,
    image,
    networks: [
      { role: 'mgmt', subnet: `${net(1)}.0/24` },
      { role: 'in', internal: true, subnet: `${net(2)}.0/24`, ip: `${net(2)}.10` },
      { role: 'out', internal: true, subnet: `${net(3)}.0/24`, ip: `${net(3)}.10` },
    ],
    security: { capabilities: ['NET_ADMIN'] },
  };
}

const probes: ProbeSpec[] = [
  probe.interface({ name: 'eth0', role: 'mgmt', defaultRoute: true }),
  probe.interface({ name: 'eth1', role: 'in', defaultRoute: false }),
  probe.udp({ role: 'mgmt', port: 5000, send: 'ping', expect: 'pong', attempts: 20, interval: '200ms' }),
  probe.traffic({
    from: 'in',
    to: 'out',
    port: 5000,
    sink: { ip: SINK, port: 6000 },
    packets: 5,
    attempts: 2,
  }),
  probe.traffic({
    label: 'blocked traffic is dropped',
    from: 'in',
    to: 'out',
    port: 5000,
    sink: { ip: SINK, port: 6000 },
    payload: 'BLOCKED',
    expect: 'dropped',
    attempts: 1,
  }),
  cnf.sigterm(),
  cnf.noZombies(),
  cnf.singleProcessType(),
  cnf.logsToStdout(),
  cnf.startupTime({ maxStartupMs: 3000 }),
];

function pipeline(image: string) {
  return definePipeline('vfw-deploy', (p) => {
    const rel = p.step('deploy', deploy.docker({ workload: workload(image) }));
    const back = p.step('rollback', rollback({ release: rel.out, probes }));
    p.step('verify', verify({ release: rel.out, probes }), { onFailure: back });
  });
}

describe('example VNF on the Docker engine: deploy, verify with traffic, automatic rollback', () => {
  let good: string;
  let faulty: string;
  let stateDir: string;
  beforeAll(() => {
    requireDocker();
    good = vfwImage(`vnfpipe-test/vfw:good-${id}`, `reply ping pong\ndrop BLOCKED\nforward ${SINK} 6000\n`);
    // The deliberate fault: the data plane forwards to a port nobody listens on.
    faulty = vfwImage(
      `vnfpipe-test/vfw:faulty-${id}`,
      `reply ping pong\ndrop BLOCKED\nforward ${SINK} 6999\n`,
    );
    stateDir = mkdtempSync(join(tmpdir(), 'vnfpipe-vnf-'));
  });
  afterAll(async () => {
    await new DockerTarget(stateDir).destroy({ ...workload(good) });
    for (const tag of [`vnfpipe-test/vfw:good-${id}`, `vnfpipe-test/vfw:faulty-${id}`]) {
      try {
        docker('rmi', '-f', tag);
      } catch {
        // Already gone.
      }
    }
  });

  it('passes verify with packets through the data plane', async () => {
    const result = await runPipeline(pipeline(good), { cwd: stateDir, stateDir, concurrency: 1 });
    const verifyOut = result.outputs.verify as {
      passed: boolean;
      probes: Array<{ name: string; passed: boolean; evidence: string }>;
    };
    expect(result.steps.verify?.error).toBeUndefined();
    expect(result.status).toBe('ok');
    expect(verifyOut.probes.map((p) => [p.name, p.passed])).toEqual(
      probes.map(() => [expect.any(String), true]),
    );
    const traffic = verifyOut.probes.find((p) => p.name.startsWith('traffic'))!;
    expect(traffic.evidence).toMatch(/5 sent .*, 5 arrived at 10\.232\.3\.20:6000/);
    expect(result.steps.rollback?.status).toBe('skipped');
  });

  it('rolls back automatically when the faulty version fails verify, and the previous one serves again', async () => {
    const result = await runPipeline(pipeline(faulty), { cwd: stateDir, stateDir, concurrency: 1 });
    expect(result.status).toBe('failed');
    expect(result.exitCode).toBe(1);
    expect(result.steps.verify?.error).toMatch(/traffic in→out delivered \(5 sent .*, 0 arrived/);
    expect(result.steps.rollback?.status).toBe('ok');
    const back = result.outputs.rollback as {
      restored: number;
      from: number;
      verify: { passed: boolean; probes: Array<{ name: string; evidence: string }> };
    };
    expect(back).toMatchObject({ restored: 1, from: 2, verify: { passed: true } });
    expect(back.verify.probes.find((p) => p.name.startsWith('traffic in→out delivered'))?.evidence).toMatch(
      /5 arrived/,
    );
    const history = await new DockerTarget(stateDir).history(name);
    expect(history.map((r) => [r.revision, r.status, r.state])).toEqual([
      [1, 'verified', 'running'],
      [2, 'rolled-back', 'removed'],
    ]);
  });
});
