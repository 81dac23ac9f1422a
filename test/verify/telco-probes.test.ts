/**
 * The telco probes against real containers on the Docker engine: the example VNF (vfw) built as it ships,
 * and a vfw built to break each probe (it relays every TEID, has no PFCP responder, leaks management traffic
 * into the data plane and forwards the data plane to a port nobody listens on). Every probe must pass on the
 * first and fail on the second, naming what it saw.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type VfwFault, vfwRules } from '../../pipelines/vfw/rules.js';
import { DockerTarget } from '../../src/deploy/docker/target.js';
import type { Workload } from '../../src/deploy/model.js';
import { deploy, rollback } from '../../src/deploy/step.js';
import { definePipeline } from '../../src/pipeline/define.js';
import type { Release } from '../../src/pipeline/kinds.js';
import { runPipeline } from '../../src/pipeline/scheduler.js';
import { type ProbeSpec, probe } from '../../src/verify/probes.js';
import { runProbes } from '../../src/verify/run.js';
import type { ProbeRuntime } from '../../src/verify/runtime.js';
import { verify } from '../../src/verify/step.js';
import { requireDocker } from '../support/docker.js';
import { docker } from '../support/engine-images.js';
import { REPO_ROOT } from '../support/project.js';
import { freeSubnets, type Subnet } from '../support/subnets.js';
import { vfwImage } from '../support/vfw-image.js';

const id = process.pid.toString(36);
const TEID = 0x1001;
const OTHER_TEID = 0x2002;

interface Deployed {
  workload: Workload;
  release: Release;
  runtime: ProbeRuntime;
  sink: string;
  mgmt: Subnet;
}

const stateDir = mkdtempSync(join(tmpdir(), 'vnfpipe-telco-'));
const target = new DockerTarget(stateDir);
const tags: string[] = [];
const workloads: Workload[] = [];

/** A vfw workload with its own name and free subnets, and its image built with `faults`. */
function vfwSetup(label: string) {
  const [mgmt, inNet, out] = freeSubnets(3) as [Subnet, Subnet, Subnet];
  const sink = out.ip(20);
  const name = `vfw-telco-${label}-${id}`;
  const image = (faults: VfwFault[]) => {
    const tag = `vnfpipe-test/vfw:telco-${label}-${faults.join('-') || 'good'}-${id}`;
    tags.push(tag);
    const plan = {
      sink: { ip: sink, port: 6000 },
      data: inNet.ip(10),
      gtpu: { teids: [TEID], peer: { ip: sink, port: 2152 } },
      pfcp: 8805,
    };
    return vfwImage(tag, vfwRules(plan, faults));
  };
  const workload = (faults: VfwFault[]): Workload => {
    const made: Workload = {
      name,
      image: image(faults),
      networks: [
        { role: 'mgmt', subnet: mgmt.cidr },
        { role: 'in', internal: true, subnet: inNet.cidr, ip: inNet.ip(10) },
        { role: 'out', internal: true, subnet: out.cidr, ip: out.ip(10) },
      ],
    };
    workloads.push(made);
    return made;
  };
  return { sink, mgmt, workload };
}

async function deployVfw(label: string, faults: VfwFault[]): Promise<Deployed> {
  const { sink, mgmt, workload: workloadOf } = vfwSetup(label);
  const workload = workloadOf(faults);
  const release = await target.deploy(workload);
  return { workload, release, runtime: await target.probeRuntime(release), sink, mgmt };
}

async function check(at: Deployed, spec: ProbeSpec, reportDir?: string) {
  const result = await runProbes(at.runtime, [spec], reportDir ? { reportDir } : {});
  return result.probes[0]!;
}

const gtpuProbe = (at: Deployed, teid: number, expect: 'forwarded' | 'dropped') =>
  probe.gtpu({ from: 'in', to: 'out', teid, packets: 3, sink: { ip: at.sink }, expect, attempts: 1 });

const isolationProbe = (at: { sink: string }) =>
  probe.isolation({
    allow: [['in', 'out']],
    deny: [
      ['mgmt', 'in'],
      ['mgmt', 'out'],
    ],
    port: 5000,
    sinks: { out: { ip: at.sink, port: 6000 }, in: { port: 6000 } },
    packets: 3,
  });

afterAll(async () => {
  for (const workload of workloads) await target.destroy(workload);
  for (const tag of tags) docker('rmi', '-f', tag);
  rmSync(stateDir, { recursive: true, force: true });
});

// Each case starts a few probe containers; the whole file shares two deployments.
describe('telco probes on the Docker engine', { timeout: 120_000 }, () => {
  let good: Deployed;
  let broken: Deployed;
  let lossy: Deployed;
  beforeAll(async () => {
    requireDocker();
    [good, broken, lossy] = await Promise.all([
      deployVfw('good', []),
      deployVfw('broken', ['gtpu', 'pfcp', 'leak']),
      deployVfw('lossy', ['port']),
    ]);
  }, 180_000);

  it('GTP-U: echo answered, G-PDUs of the allowed TEID forwarded, others dropped', async () => {
    const forwarded = await check(good, gtpuProbe(good, TEID, 'forwarded'));
    expect(forwarded.evidence).toMatch(/echo request → echo response/);
    expect(forwarded.evidence).toMatch(/3 G-PDUs with TEID 4097, 0 decapsulated/);
    expect(forwarded.passed).toBe(true);
    const dropped = await check(good, gtpuProbe(good, OTHER_TEID, 'dropped'));
    expect(dropped.evidence).toMatch(/0 G-PDUs with TEID 8194/);
    expect(dropped.passed).toBe(true);
  });

  it('GTP-U fails on a VNF that relays a TEID it must drop, naming what arrived', async () => {
    const leaked = await check(broken, gtpuProbe(broken, OTHER_TEID, 'dropped'));
    expect(leaked.passed).toBe(false);
    expect(leaked.evidence).toMatch(/3 G-PDUs with TEID 8194, .*\(expected none\)/);
  });

  it('PFCP: heartbeat and association setup answered on management', async () => {
    const result = await check(good, probe.pfcp({ role: 'mgmt', attempts: 3 }));
    expect(result.evidence).toMatch(/heartbeat → response \(peer up since \d{4}-/);
    expect(result.evidence).toContain(`association setup → accepted by node ${good.mgmt.prefix}.`);
    expect(result.passed).toBe(true);
  });

  it('PFCP fails on a VNF without a responder, and on the data address of one that keeps it to management', async () => {
    const silent = await check(broken, probe.pfcp({ role: 'mgmt', attempts: 1, timeout: '1s' }));
    expect(silent.passed).toBe(false);
    expect(silent.evidence).toMatch(/heartbeat request to .*:8805 → no answer/);
    const onData = await check(good, probe.pfcp({ role: 'in', attempts: 1, timeout: '1s' }));
    expect(onData.passed).toBe(false);
  });

  it('isolation: data passes in→out, management reaches neither data network', async () => {
    const result = await check(good, isolationProbe(good));
    expect(result.evidence).toMatch(/in→out allowed: 3 of 3 arrived .*\(passes\)/);
    expect(result.evidence).toMatch(/mgmt→out denied: 0 of 3 arrived .*\(kept closed\)/);
    expect(result.passed).toBe(true);
  });

  it('isolation fails on a VNF that leaks management traffic into the data plane', async () => {
    const result = await check(broken, isolationProbe(broken));
    expect(result.passed).toBe(false);
    expect(result.evidence).toMatch(/mgmt→out denied: 3 of 3 arrived at .*:6000 \(LEAKS\)/);
    expect(result.evidence).toMatch(/in→out allowed: 3 of 3 arrived .*\(passes\)/);
  });

  it('isolation fails when allowed traffic does not pass', async () => {
    const result = await check(lossy, isolationProbe(lossy));
    expect(result.passed).toBe(false);
    expect(result.evidence).toMatch(/in→out allowed: 0 of 3 arrived .*\(BLOCKED\)/);
  });

  it('throughput: a gentle rate passes every size and writes JSON and CSV reports', async () => {
    const reportDir = join(stateDir, 'reports');
    // Thresholds a loaded machine always meets: this checks the gate's plumbing, never performance.
    const result = await check(
      good,
      probe.throughput({
        from: 'in',
        to: 'out',
        port: 5000,
        sink: { ip: good.sink, port: 6000 },
        rate: '500pps',
        duration: '1s',
        maxLoss: '50%',
        sizes: [64, 1400],
      }),
      reportDir,
    );
    expect(result.evidence).toMatch(/^500pps for 1000ms: 64B: loss [\d.]+%, p99 .*; 1400B: loss/);
    expect(result.passed).toBe(true);
    const report = JSON.parse(
      readFileSync(join(reportDir, `throughput-${good.workload.name}-r1.json`), 'utf8'),
    );
    expect(report).toMatchObject({ mode: 'fixed', maxLoss: 0.5, passed: true });
    expect(report.trials.map((t: { size: number; sent: number }) => [t.size, t.sent])).toEqual([
      [64, 500],
      [1400, 500],
    ]);
    const csv = readFileSync(join(reportDir, `throughput-${good.workload.name}-r1.csv`), 'utf8').split('\n');
    expect(csv[0]).toMatch(/^size,pps,sent,failed_to_send,unsent,received,loss_ratio,/);
    expect(csv).toHaveLength(4);
  });

  it('throughput fails when a threshold cannot be met, and on a VNF that loses the traffic', async () => {
    const spec = (at: Deployed, extra: object) =>
      probe.throughput({
        from: 'in',
        to: 'out',
        port: 5000,
        sink: { ip: at.sink, port: 6000 },
        rate: '200pps',
        duration: '500ms',
        ...extra,
      });
    const unmeetable = await check(good, spec(good, { maxLoss: '100%', p99Latency: 0 }));
    expect(unmeetable.passed).toBe(false);
    expect(unmeetable.evidence).toMatch(/64B: loss [\d.]+%, p99 [\d.]+ms > 0ms/);
    const lost = await check(lossy, spec(lossy, {}));
    expect(lost.passed).toBe(false);
    expect(lost.evidence).toMatch(/64B: loss 100% > 0.1%/);
  });

  it('throughput search mode reports the highest rate found', async () => {
    const result = await check(
      good,
      probe.throughput({
        from: 'in',
        to: 'out',
        port: 5000,
        sink: { ip: good.sink, port: 6000 },
        rate: 'max',
        maxRate: '400pps',
        searchTrials: 2,
        duration: '500ms',
        maxLoss: '50%',
      }),
    );
    expect(result.evidence).toMatch(/^highest rate within 50% loss: 64B (400|200)pps/);
    expect(result.passed).toBe(true);
  });

  it('DNS: the engine resolver on the management network answers the workload name', async () => {
    const address = await good.runtime.address('mgmt');
    const name = good.release.instances[0]!;
    const ok = await check(good, probe.dns({ role: 'mgmt', server: '127.0.0.11', name, expect: address }));
    expect(ok.evidence).toContain(`→ NOERROR [${address}]`);
    expect(ok.passed).toBe(true);
    const wrong = await check(
      good,
      probe.dns({ role: 'mgmt', server: '127.0.0.11', name, expect: '192.0.2.99', attempts: 1 }),
    );
    expect(wrong.passed).toBe(false);
    expect(wrong.evidence).toContain(`[${address}] (expected 192.0.2.99)`);
  });

  it('ICMP with DF: 1472 payload bytes fit the 1500-byte MTU, 1473 do not', async () => {
    const fits = await check(good, probe.icmp({ role: 'mgmt', size: 1472 }));
    expect(fits.evidence).toMatch(/→ reply 1472 bytes/);
    expect(fits.passed).toBe(true);
    const tooBig = await check(good, probe.icmp({ role: 'mgmt', size: 1473, attempts: 1 }));
    expect(tooBig.passed).toBe(false);
    expect(tooBig.evidence).toMatch(/too big: 1501 bytes with DF exceed the path MTU 1500/);
    const ceiling = await check(
      good,
      probe.icmp({ role: 'mgmt', size: 1473, expect: 'too-big', attempts: 1 }),
    );
    expect(ceiling.passed).toBe(true);
  });
});

/** Whether this kernel can open an SCTP socket, asked of the probe tool itself. */
function kernelSctp(): { ok: boolean; reason: string } {
  const binary = join(stateDir, 'probe-for-sctp');
  if (!existsSync(binary))
    execFileSync('cc', ['-O2', '-static', '-o', binary, join(REPO_ROOT, 'assets/vnfprobe.c')]);
  let out = '';
  try {
    out = execFileSync(binary, ['sctp', '127.0.0.1', '9', '200'], { encoding: 'utf8' });
  } catch (error) {
    out = String((error as { stdout?: string }).stdout ?? '');
  }
  return { ok: !out.startsWith('sctp unsupported'), reason: out.trim() };
}

describe('SCTP probe', { timeout: 60_000 }, () => {
  const sctp = kernelSctp();
  let at: Deployed;
  beforeAll(async () => {
    requireDocker();
    at = await deployVfw('sctp', []);
  }, 120_000);

  it.runIf(!sctp.ok)('fails, naming the missing kernel support, on a kernel without SCTP', async () => {
    const result = await check(at, probe.sctp({ role: 'mgmt', port: 38412, attempts: 1 }));
    expect(result.passed).toBe(false);
    expect(result.evidence).toMatch(/sctp .*:38412 → sctp unsupported: this kernel has no SCTP/);
  });

  // vfw has no SCTP endpoint: with kernel SCTP the association is refused (an ABORT), never passed.
  it.skipIf(!sctp.ok)(
    `fails with the peer's refusal where the kernel has SCTP (skipped here: ${sctp.reason})`,
    async () => {
      const result = await check(at, probe.sctp({ role: 'mgmt', port: 38412, attempts: 1 }));
      expect(result.passed).toBe(false);
      expect(result.evidence).toMatch(/refused|timed out/i);
    },
  );
});

describe('a release that leaks management traffic into the data plane', { timeout: 180_000 }, () => {
  beforeAll(() => {
    requireDocker();
  });

  it('is caught by the isolation probe and rolled back to the verified one', async () => {
    const at = vfwSetup('rollback');
    const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-telco-rollback-'));
    const run = (workload: Workload) =>
      runPipeline(
        definePipeline('vfw-isolation', (p) => {
          const probes = [isolationProbe(at)];
          const rel = p.step('deploy', deploy.docker({ workload }));
          const back = p.step('rollback', rollback({ release: rel.out, probes }));
          p.step('verify', verify({ release: rel.out, probes }), { onFailure: back });
        }),
        { cwd: dir, stateDir: dir, concurrency: 1 },
      );
    const verified = at.workload([]);
    try {
      const first = await run(verified);
      expect(first.steps.verify?.error).toBeUndefined();
      expect(first.status).toBe('ok');
      const leaky = await run(at.workload(['leak']));
      expect(leaky.status).toBe('failed');
      expect(leaky.steps.verify?.error).toMatch(/isolation \(.*mgmt→out denied: 3 of 3 arrived .*\(LEAKS\)/);
      expect(leaky.steps.rollback?.status).toBe('ok');
      expect(leaky.outputs.rollback).toMatchObject({ restored: 1, from: 2, verify: { passed: true } });
    } finally {
      await new DockerTarget(dir).destroy(verified);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
