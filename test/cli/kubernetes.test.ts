/**
 * The CLI's kubernetes commands against a loopback API server: `plan --preflight`, `history` and `rollback`
 * with `--target kubernetes` (spawns bin/vnfpipe.js: npm run build first).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubernetesTarget } from '../../src/deploy/kubernetes/target.js';
import { FakeApiServer } from '../deploy/kubernetes/support/fake-apiserver.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Async: the API server answers from this process while the CLI runs. */
function vnfpipe(env: NodeJS.ProcessEnv, ...args: string[]) {
  const child = spawn(process.execPath, [join(ROOT, 'bin/vnfpipe.js'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
  });
  let [stdout, stderr] = ['', ''];
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (status) => resolve({ status, stdout, stderr })),
  );
}

describe('vnfpipe plan --preflight', () => {
  let api: FakeApiServer;
  let kubeconfig: string;
  beforeEach(async () => {
    api = await new FakeApiServer().start();
    kubeconfig = join(mkdtempSync(join(tmpdir(), 'vnfpipe-plan-')), 'config');
    writeFileSync(kubeconfig, api.kubeconfig());
  });
  afterEach(() => api.stop());

  it('fails the plan naming the node shortfall, and applies nothing', async () => {
    api.addNode('w1', { cpu: '16', memory: '32Gi', 'hugepages-2Mi': '512Mi' });
    const result = await vnfpipe(
      { KUBECONFIG: kubeconfig },
      'plan',
      '-f',
      'vnfpipe.kubernetes.ts',
      '--preflight',
    );
    expect(result.stderr).toContain('preflight deploy: the cluster cannot run 2 pods of vfw: room for 0');
    expect(result.stderr).toContain('  node w1: hugepages-2Mi 512Mi free of 512Mi, a pod needs 1Gi');
    expect(result.status).toBe(1);
    expect(api.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('passes when the nodes have room', async () => {
    api.addNode('w1', { cpu: '16', memory: '32Gi', 'hugepages-2Mi': '4Gi' });
    const result = await vnfpipe(
      { KUBECONFIG: kubeconfig },
      'plan',
      '-f',
      'vnfpipe.kubernetes.ts',
      '--preflight',
    );
    expect(result.stderr).toContain('preflight deploy: the cluster can hold vfw');
    expect(result.status).toBe(0);
  });
});

describe('vnfpipe history and rollback --target kubernetes', () => {
  let api: FakeApiServer;
  let kubeconfig: string;
  const image = (c: string) => `registry.example/vnf/vfw@sha256:${c.repeat(64)}`;
  beforeEach(async () => {
    api = await new FakeApiServer().start();
    kubeconfig = join(mkdtempSync(join(tmpdir(), 'vnfpipe-hist-')), 'config');
    writeFileSync(kubeconfig, api.kubeconfig());
    const target = KubernetesTarget.connect({ namespace: 'vnf', kubeconfig }, {}, { pollMs: 1 });
    await target.promote(await target.deploy({ name: 'vfw', image: image('a') }));
    await target.deploy({ name: 'vfw', image: image('b') });
  });
  afterEach(() => api.stop());

  const k8s = ['--target', 'kubernetes', '-n', 'vnf'];

  it('lists the revisions kept in the cluster, and rolls back to the verified one', async () => {
    const history = await vnfpipe({}, 'history', 'vfw', ...k8s, '--kubeconfig', kubeconfig, '--json');
    expect(history.status).toBe(0);
    const rows = JSON.parse(history.stdout).revisions.map(
      (r: { revision: number; status: string; state: string }) => [r.revision, r.status, r.state],
    );
    expect(rows).toEqual([
      [1, 'verified', '-'],
      [2, 'deployed', 'serving'],
    ]);
    const back = await vnfpipe({ KUBECONFIG: kubeconfig }, 'rollback', 'vfw', ...k8s);
    expect(back.stdout).toContain(`vfw is back on revision 1 (${image('a')})`);
    expect(back.status).toBe(0);
    expect(api.get('apps/v1', 'Deployment', 'vnf', 'vfw')?.spec.template.spec.containers[0].image).toBe(
      image('a'),
    );
  });

  it('needs the namespace (exit 2)', async () => {
    const result = await vnfpipe({ KUBECONFIG: kubeconfig }, 'history', 'vfw', '--target', 'kubernetes');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--target kubernetes needs --namespace');
  });
});
