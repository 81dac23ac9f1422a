/**
 * deploy.kubernetes → verify (probes through the exec subresource) → onFailure rollback, as a pipeline runs
 * them, against the loopback API server (support/fake-apiserver.ts).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubernetesTarget } from '../../../src/deploy/kubernetes/target.js';
import { deploy, rollback } from '../../../src/deploy/step.js';
import { definePipeline } from '../../../src/pipeline/define.js';
import { runPipeline } from '../../../src/pipeline/scheduler.js';
import { cnf, probe } from '../../../src/verify/probes.js';
import { verify } from '../../../src/verify/step.js';
import { FakeApiServer } from './support/fake-apiserver.js';

const GOOD = `registry.example/vnf/vfw@sha256:${'a'.repeat(64)}`;
const FAULTY = `registry.example/vnf/vfw@sha256:${'f'.repeat(64)}`;

const pipeline = (image: string) =>
  definePipeline('vfw-k8s', (p) => {
    const release = p.step(
      'deploy',
      deploy.kubernetes({
        workload: { name: 'vfw', image, replicas: 2, resources: { cpus: 1, memory: '64Mi' } },
        namespace: 'vnf',
        kubeconfig: 'kubeconfig',
      }),
    );
    const probes = [
      probe.exec({
        command: ['cat', '/etc/vfw/rules.conf'],
        outputContains: 'forward',
        attempts: 2,
        interval: '1ms',
      }),
      cnf.noZombies(),
    ];
    const back = p.step('rollback', rollback({ release: release.out, probes }));
    p.step('verify', verify({ release: release.out, probes }), { onFailure: back });
  });

describe('a kubernetes pipeline: deploy, verify through exec, roll back on failure', () => {
  let api: FakeApiServer;
  let dir: string;
  beforeEach(async () => {
    api = await new FakeApiServer().start();
    dir = mkdtempSync(join(tmpdir(), 'vnfpipe-k8s-pipe-'));
    writeFileSync(join(dir, 'kubeconfig'), api.kubeconfig());
    api.addNode('w1', { cpu: '8', memory: '16Gi' });
    api.exec = (pod, command) => {
      if (command[0] === 'ps') return { exitCode: 0, stdout: '  PID STAT COMMAND\n    1 S    vfw\n' };
      const faulty = pod.spec.containers[0].image === FAULTY;
      return { exitCode: 0, stdout: faulty ? 'drop all\n' : 'forward 10.240.3.20 6000\n' };
    };
  });
  afterEach(() => api.stop());

  it('verifies and promotes a good revision; a faulty one fails verify and the last verified is re-applied', async () => {
    const run = (image: string) =>
      runPipeline(pipeline(image), { cwd: dir, env: { KUBECONFIG: '/nonexistent' }, concurrency: 1 });
    const first = await run(GOOD);
    expect(first.steps.verify?.error).toBeUndefined();
    expect(first.exitCode).toBe(0);
    // The release names the kubeconfig as the pipeline did: a later CI job resolves it in its own checkout.
    expect(first.outputs.deploy).toMatchObject({
      kubernetes: { namespace: 'vnf', kubeconfig: 'kubeconfig' },
    });
    expect(api.execs[0]).toMatchObject({ pod: 'vfw-1-0', command: ['cat', '/etc/vfw/rules.conf'] });

    const second = await run(FAULTY);
    expect(second.exitCode).toBe(1);
    expect(second.steps.verify?.error).toMatch(/exit 0: drop all/);
    expect(second.outputs.rollback).toMatchObject({ name: 'vfw', restored: 1, from: 2 });
    expect(api.get('apps/v1', 'Deployment', 'vnf', 'vfw')?.spec.template.spec.containers[0].image).toBe(GOOD);

    const target = KubernetesTarget.connect({ namespace: 'vnf', kubeconfig: join(dir, 'kubeconfig') }, {});
    expect((await target.history('vfw')).map((r) => [r.revision, r.status, r.state])).toEqual([
      [1, 'verified', 'serving'],
      [2, 'rolled-back', '-'],
    ]);
  });
});
