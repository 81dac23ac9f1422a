/**
 * Contract tests of the kubernetes target against a loopback API server that scripts the controllers
 * (support/fake-apiserver.ts says what it simulates and what not). The same scenarios run against a real
 * cluster in e2e.test.ts when VNFPIPE_E2E_KUBECONFIG is set.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubernetesTarget } from '../../../src/deploy/kubernetes/target.js';
import type { Workload } from '../../../src/deploy/model.js';
import { VnfpipeError } from '../../../src/errors.js';
import { FakeApiServer } from './support/fake-apiserver.js';

const GOOD = 'registry.example/vfw@sha256:'.padEnd(28 + 64, 'a');
const BAD = 'registry.example/vfw@sha256:'.padEnd(28 + 64, 'b');
const NS = 'cnf';
/** The killed run is a real process: it runs the built target (npm run build first). */
const DIST = fileURLToPath(new URL('../../../dist', import.meta.url));

/** The error `promise` rejects with; a test fails when it resolves. */
async function failed(promise: Promise<unknown>): Promise<VnfpipeError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof VnfpipeError)) throw new Error(`expected a VnfpipeError, got ${String(outcome)}`);
  return outcome;
}

function workload(image: string, extra: Partial<Workload> = {}): Workload {
  return { name: 'vfw', image, replicas: 2, ports: [{ container: 8080 }], ...extra };
}

describe('kubernetes target (contract, loopback API server)', () => {
  let api: FakeApiServer;
  let target: KubernetesTarget;
  const lines: string[] = [];

  beforeEach(async () => {
    api = await new FakeApiServer().start();
    const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-k8s-'));
    const kubeconfig = join(dir, 'config');
    writeFileSync(kubeconfig, api.kubeconfig());
    target = KubernetesTarget.connect({ namespace: NS, kubeconfig }, {}, { pollMs: 1, timeoutMs: 10_000 });
    lines.length = 0;
  });
  afterEach(() => api.stop());

  const log = (line: string) => lines.push(line);

  it('applies every object with server-side apply as vnfpipe, waits for the rollout, records the revision', async () => {
    const release = await target.deploy(workload(GOOD), { log });
    expect(release).toMatchObject({ target: 'kubernetes', name: 'vfw', revision: 1, image: GOOD });
    const applies = api.applies();
    expect(applies.map((r) => r.path)).toEqual([
      `/api/v1/namespaces/${NS}/serviceaccounts/vfw`,
      `/api/v1/namespaces/${NS}/services/vfw`,
      `/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets/vfw`,
      `/apis/apps/v1/namespaces/${NS}/deployments/vfw`,
    ]);
    for (const r of applies) {
      expect(r.contentType).toBe('application/apply-patch+yaml');
      expect(r.query.get('fieldManager')).toBe('vnfpipe');
    }
    expect(lines).toContain('Deployment cnf/vfw: waiting for the controller to see the new spec');
    expect(lines.at(-1)).toBe('Deployment cnf/vfw rolled out revision 1');
    expect((await target.history('vfw')).map((r) => [r.revision, r.status, r.state])).toEqual([
      [1, 'deployed', 'serving'],
    ]);
    const secret = api.get('v1', 'Secret', NS, 'vnfpipe.vfw.v1');
    expect(secret?.type).toBe('vnfpipe.io/release.v1');
    expect(secret?.metadata.labels['io.vnfpipe.workload']).toBe('vfw');
    const record = JSON.parse(Buffer.from(secret?.data.release, 'base64').toString());
    expect(record.manifest.map((o: { kind: string }) => o.kind)).toEqual([
      'ServiceAccount',
      'Service',
      'PodDisruptionBudget',
      'Deployment',
    ]);
  });

  it("maps each data role to its attachment, and the probe runtime finds the pod's address on it", async () => {
    const release = await target.deploy(
      workload(GOOD, {
        replicas: 1,
        networks: [
          { role: 'mgmt' },
          { role: 'in', driver: 'macvlan', parent: 'ens1f0', subnet: '10.10.1.0/24', ip: '10.10.1.10' },
        ],
      }),
    );
    expect(release.networks).toEqual({ in: 'vfw-1-in' });
    const runtime = await target.probeRuntime(release);
    expect(await runtime.address('in')).toBe('10.10.1.10');
    expect(await runtime.address('mgmt')).toBe('10.244.0.10');
  });

  it('prunes what an earlier revision owned and this one no longer renders', async () => {
    await target.promote(await target.deploy(workload(GOOD)));
    await target.deploy(workload(GOOD, { replicas: 1, ports: [], env: { V: '2' } }), { log });
    expect(api.get('v1', 'Service', NS, 'vfw')).toBeUndefined();
    expect(api.get('policy/v1', 'PodDisruptionBudget', NS, 'vfw')).toBeUndefined();
    expect(lines).toContain('pruning Service cnf/vfw, no longer rendered');
  });

  it('on ProgressDeadlineExceeded re-applies the last verified revision, waits for it, and says so', async () => {
    api.script = (image) => (image === BAD ? { outcome: 'deadline' } : { outcome: 'healthy' });
    await target.promote(await target.deploy(workload(GOOD)));
    const error = await failed(target.deploy(workload(BAD), { log }));
    expect(error.message).toMatch(
      /the rollout of Deployment cnf\/vfw failed: ProgressDeadlineExceeded: .*timed out progressing.*; rolled back to revision 1/,
    );
    const live = api.get('apps/v1', 'Deployment', NS, 'vfw');
    expect(live?.spec.template.spec.containers[0].image).toBe(GOOD);
    expect(live?.metadata.annotations['io.vnfpipe.revision']).toBe('1');
    expect(lines).toContain('Deployment cnf/vfw rolled out revision 1');
    expect((await target.history('vfw')).map((r) => [r.revision, r.status])).toEqual([
      [1, 'verified'],
      [2, 'rolled-back'],
    ]);
  });

  it('names the image and the reason of an ImagePullBackOff', async () => {
    api.script = () => ({ outcome: 'image-pull', message: 'pull access denied, repository does not exist' });
    const error = await failed(target.deploy(workload(BAD)));
    expect(error.message).toContain(
      `cannot pull image ${BAD} (ImagePullBackOff: pull access denied, repository does not exist)`,
    );
    expect((await target.history('vfw')).map((r) => r.status)).toEqual(['failed']);
  });

  it('shows the last log lines of a crash loop', async () => {
    api.script = () => ({ outcome: 'crashloop', logs: 'loading rules\nfatal: no such interface net1\n' });
    const error = await failed(target.deploy(workload(BAD)));
    expect(error.message).toMatch(
      /keeps crashing \(CrashLoopBackOff\); its last lines:\nloading rules\nfatal: no such interface net1/,
    );
  });

  it('names the NetworkAttachmentDefinition Multus cannot find', async () => {
    api.script = () => ({
      outcome: 'sandbox',
      message:
        'Failed to create pod sandbox: plugin type="multus" name="multus-cni-network" failed (add): Multus: error in getting k8s network for pod: cannot find a network-attachment-definition (vfw-1-in) in namespace (cnf): network-attachments-definition.k8s.cni.cncf.io "vfw-1-in" not found',
    });
    const error = await failed(target.deploy(workload(BAD)));
    expect(error.message).toMatch(
      /Multus cannot attach pod vfw-1-\d's networks \(NetworkAttachmentDefinition vfw-1-in\)/,
    );
  });

  it('says which resource the scheduler lacks', async () => {
    api.script = () => ({
      outcome: 'unschedulable',
      message: '0/3 nodes are available: 1 Insufficient intel.com/sriov_netdevice, 2 Insufficient cpu.',
    });
    const error = await failed(target.deploy(workload(BAD)));
    expect(error.message).toMatch(/cannot be scheduled: no node has enough intel.com\/sriov_netdevice, cpu/);
  });

  it('reports a conflict with another field manager, and takes the field over only with forceConflicts', async () => {
    await target.deploy(workload(GOOD));
    const live = api.get('apps/v1', 'Deployment', NS, 'vfw')!;
    api.own({ ...live, spec: { ...live.spec, replicas: 5 } }, 'kubectl-scale', ['spec.replicas']);
    const error = await failed(target.deploy(workload(GOOD, { env: { V: '2' } })));
    expect(error.message).toBe('applying Deployment cnf/vfw conflicts with another field manager');
    expect(error.hint).toMatch(
      /conflict with "kubectl-scale" using apps\/v1: \.spec\.replicas.*forceConflicts: true/,
    );
    const forced = await target.deploy(workload(GOOD, { env: { V: '2' } }), { forceConflicts: true });
    expect(forced.revision).toBe(3);
    expect(api.applies().at(-1)?.query.get('force')).toBe('true');
    expect(api.get('apps/v1', 'Deployment', NS, 'vfw')?.spec.replicas).toBe(2);
  });

  it('never puts the kubeconfig token in an error', async () => {
    await api.stop();
    const error = await failed(target.deploy(workload(GOOD)));
    expect(JSON.stringify({ m: error.message, h: error.hint })).not.toContain('secret-token-do-not-print');
    expect(error.message).toMatch(/cannot/);
  });
});

describe('kubernetes target: a run killed mid-apply', () => {
  let api: FakeApiServer;
  let kubeconfig: string;
  beforeEach(async () => {
    api = await new FakeApiServer().start();
    kubeconfig = join(mkdtempSync(join(tmpdir(), 'vnfpipe-k8s-kill-')), 'config');
    writeFileSync(kubeconfig, api.kubeconfig());
  });
  afterEach(() => api.stop());

  /** Runs a deploy of `image` in another process and SIGKILLs it while its Deployment apply is in flight. */
  async function killedDeploy(image: string) {
    api.hold = (r) => r.method === 'PATCH' && r.path.endsWith('/deployments/vfw');
    const script = `
      const { KubernetesTarget } = await import(${JSON.stringify(pathToFileURL(join(DIST, 'deploy/kubernetes/target.js')).href)});
      const target = KubernetesTarget.connect({ namespace: ${JSON.stringify(NS)}, kubeconfig: process.argv[1] }, {}, { pollMs: 1 });
      await target.deploy(JSON.parse(process.argv[2]));`;
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', script, kubeconfig, JSON.stringify(workload(image))],
      {
        stdio: 'ignore',
      },
    );
    const exited = new Promise((r) => child.once('exit', r));
    await api.held;
    child.kill('SIGKILL');
    await exited;
    api.hold = () => false;
  }

  it('leaves a pending revision that the next deploy marks abandoned, and deploys past', async () => {
    const target = KubernetesTarget.connect({ namespace: NS, kubeconfig }, {}, { pollMs: 1 });
    await target.promote(await target.deploy(workload(GOOD)));
    await killedDeploy(BAD);
    expect((await target.history('vfw')).map((r) => [r.revision, r.status])).toEqual([
      [1, 'verified'],
      [2, 'pending'],
    ]);
    const lines: string[] = [];
    const release = await target.deploy(workload(GOOD, { env: { V: '3' } }), { log: (l) => lines.push(l) });
    expect(release.revision).toBe(3);
    expect(lines[0]).toBe('revision 2 was left pending by an interrupted run; marking it abandoned');
    expect((await target.history('vfw')).map((r) => [r.revision, r.status, r.state])).toEqual([
      [1, 'verified', '-'],
      [2, 'abandoned', '-'],
      [3, 'deployed', 'serving'],
    ]);
  });

  it('rolls back past the pending revision to the last verified one', async () => {
    const target = KubernetesTarget.connect({ namespace: NS, kubeconfig }, {}, { pollMs: 1 });
    await target.promote(await target.deploy(workload(GOOD)));
    await killedDeploy(BAD);
    const restored = await target.rollback('vfw');
    expect(restored.revision).toBe(1);
    expect(api.get('apps/v1', 'Deployment', NS, 'vfw')?.spec.template.spec.containers[0].image).toBe(GOOD);
    expect((await target.history('vfw')).map((r) => [r.revision, r.status])).toEqual([
      [1, 'deployed'],
      [2, 'abandoned'],
    ]);
  });
});

describe('kubernetes target: preflight', () => {
  let api: FakeApiServer;
  let target: KubernetesTarget;
  beforeEach(async () => {
    api = await new FakeApiServer().start();
    const kubeconfig = join(mkdtempSync(join(tmpdir(), 'vnfpipe-k8s-pre-')), 'config');
    writeFileSync(kubeconfig, api.kubeconfig());
    target = KubernetesTarget.connect({ namespace: NS, kubeconfig }, {}, { pollMs: 1 });
  });
  afterEach(() => api.stop());

  const hungry = () =>
    workload(GOOD, { resources: { cpus: 2, memory: '1Gi', hugepages: { size: '2Mi', pages: 512 } } });

  it('refuses a VNF whose hugepages fit no node before applying anything, naming each node’s shortfall', async () => {
    api.addNode('w1', { cpu: '8', memory: '16Gi', 'hugepages-2Mi': '1Gi' });
    api.addNode('w2', { cpu: '8', memory: '16Gi', 'hugepages-2Mi': '2Gi' });
    api.addPod('telco', 'upf-0', 'w2', { cpu: '2', memory: '1Gi', 'hugepages-2Mi': '1536Mi' });
    api.addNode('w3', { cpu: '8', memory: '16Gi', 'hugepages-2Mi': '4Gi' });
    api.store.get('v1|nodes||w3')!.spec = {
      taints: [{ key: 'dedicated', value: 'ran', effect: 'NoSchedule' }],
    };
    // What the scheduler would say after an apply: the refusal comes first, with the same reason.
    api.script = () => ({
      outcome: 'unschedulable',
      message: '0/3 nodes are available: 2 Insufficient hugepages-2Mi.',
    });
    const error = await failed(target.deploy(hungry()));
    expect(error.message).toBe('the cluster cannot run 2 pods of vfw: room for 1');
    expect(error.where).toMatch(/before any apply/);
    expect(error.hint?.split('\n')).toEqual([
      'node w2: hugepages-2Mi 512Mi free of 2Gi, a pod needs 1Gi',
      'node w3: untolerated taint dedicated=ran:NoSchedule',
    ]);
    expect(api.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('deploys when the nodes have room, counting what other pods already take', async () => {
    api.addNode('w1', { cpu: '4', memory: '8Gi', 'hugepages-2Mi': '2Gi' });
    api.addPod('telco', 'upf-0', 'w1', { cpu: '2', 'hugepages-2Mi': '1Gi' });
    api.addNode('w2', { cpu: '4', memory: '8Gi', 'hugepages-2Mi': '1Gi' });
    expect((await target.deploy(hungry())).revision).toBe(1);
  });

  it('refuses what the namespace quota cannot hold', async () => {
    api.addNode('w1', { cpu: '16', memory: '32Gi', 'hugepages-2Mi': '8Gi' });
    api.own(
      {
        apiVersion: 'v1',
        kind: 'ResourceQuota',
        metadata: { name: 'cnf-quota', namespace: NS },
        status: { hard: { 'requests.cpu': '6' }, used: { 'requests.cpu': '3' } },
      },
      'admin',
      [],
    );
    const error = await failed(target.deploy(hungry()));
    expect(error.message).toBe(`namespace ${NS}'s quota cannot hold vfw`);
    expect(error.hint).toBe('quota cnf-quota: requests.cpu 3 left, 2 pods need 4');
  });
});
