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
import { freeSubnets, type Subnet } from '../support/subnets.js';
import { vfwImage } from '../support/vfw-image.js';

const id = process.pid.toString(36);

/** One deployment of the example VNF: its own name, free subnets and state, so no case needs another. */
interface Setup {
  name: string;
  stateDir: string;
  sink: string;
  out: Subnet;
  workload(image: string): Workload;
  probes: ProbeSpec[];
}

const setups: Setup[] = [];

function setup(label: string): Setup {
  const [mgmt, inNet, out] = freeSubnets(3) as [Subnet, Subnet, Subnet];
  const sink = out.ip(20);
  const name = `vfw-${label}-${id}`;
  const created: Setup = {
    name,
    stateDir: mkdtempSync(join(tmpdir(), 'vnfpipe-vnf-')),
    sink,
    out,
    workload: (image) => ({
      name,
      image,
      networks: [
        { role: 'mgmt', subnet: mgmt.cidr },
        { role: 'in', internal: true, subnet: inNet.cidr, ip: inNet.ip(10) },
        { role: 'out', internal: true, subnet: out.cidr, ip: out.ip(10) },
      ],
      security: { capabilities: ['NET_ADMIN'] },
    }),
    probes: probesFor(sink),
  };
  setups.push(created);
  return created;
}

function probesFor(sink: string): ProbeSpec[] {
  return [
    probe.interface({ name: 'eth0', role: 'mgmt', defaultRoute: true }),
    probe.interface({ name: 'eth1', role: 'in', defaultRoute: false }),
    probe.udp({ role: 'mgmt', port: 5000, send: 'ping', expect: 'pong', attempts: 20, interval: '200ms' }),
    probe.traffic({
      from: 'in',
      to: 'out',
      port: 5000,
      sink: { ip: sink, port: 6000 },
      packets: 5,
      attempts: 2,
    }),
    probe.traffic({
      label: 'blocked traffic is dropped',
      from: 'in',
      to: 'out',
      port: 5000,
      sink: { ip: sink, port: 6000 },
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
}

function pipeline(at: Setup, image: string) {
  const probes = at.probes;
  return definePipeline('vfw-deploy', (p) => {
    const rel = p.step('deploy', deploy.docker({ workload: at.workload(image) }));
    const back = p.step('rollback', rollback({ release: rel.out, probes }));
    p.step('verify', verify({ release: rel.out, probes }), { onFailure: back });
  });
}

describe('example VNF on the Docker engine: deploy, verify with traffic, automatic rollback', () => {
  const tags: string[] = [];
  /** The vfw image for a setup; `faulty` forwards to a port nobody listens on (the deliberate fault). */
  const image = (at: Setup, kind: 'good' | 'faulty') => {
    const tag = `vnfpipe-test/vfw:${kind}-${at.name}`;
    tags.push(tag);
    const port = kind === 'good' ? 6000 : 6999;
    return vfwImage(tag, `reply ping pong\ndrop BLOCKED\nforward ${at.sink} ${port}\n`);
  };
  beforeAll(() => {
    requireDocker();
  });
  afterAll(async () => {
    for (const at of setups) await new DockerTarget(at.stateDir).destroy(at.workload('unused'));
    for (const tag of tags) {
      try {
        docker('rmi', '-f', tag);
      } catch {
        // Already gone.
      }
    }
  });

  it('passes verify with packets through the data plane', async () => {
    const at = setup('pass');
    const { stateDir } = at;
    const result = await runPipeline(pipeline(at, image(at, 'good')), {
      cwd: stateDir,
      stateDir,
      concurrency: 1,
    });
    const verifyOut = result.outputs.verify as {
      passed: boolean;
      probes: Array<{ name: string; passed: boolean; evidence: string }>;
    };
    expect(result.steps.verify?.error).toBeUndefined();
    expect(result.status).toBe('ok');
    expect(verifyOut.probes.map((p) => [p.name, p.passed])).toEqual(
      at.probes.map(() => [expect.any(String), true]),
    );
    const traffic = verifyOut.probes.find((p) => p.name.startsWith('traffic'))!;
    expect(traffic.evidence).toMatch(new RegExp(`5 sent .*, 5 arrived at ${at.out.pattern}\\.20:6000`));
    expect(result.steps.rollback?.status).toBe('skipped');
  });

  it('rolls back automatically when the faulty version fails verify, and the previous one serves again', async () => {
    // Its own first, verified revision to roll back to: this case does not rely on the one before.
    const at = setup('rollback');
    const { stateDir } = at;
    const first = await runPipeline(pipeline(at, image(at, 'good')), {
      cwd: stateDir,
      stateDir,
      concurrency: 1,
    });
    expect(first.steps.verify?.error).toBeUndefined();
    expect(first.status).toBe('ok');

    const result = await runPipeline(pipeline(at, image(at, 'faulty')), {
      cwd: stateDir,
      stateDir,
      concurrency: 1,
    });
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
    const history = await new DockerTarget(stateDir).history(at.name);
    expect(history.map((r) => [r.revision, r.status, r.state])).toEqual([
      [1, 'verified', 'running'],
      [2, 'rolled-back', 'removed'],
    ]);
  }, 180_000);
});
