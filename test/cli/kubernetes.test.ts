/** `vnfpipe plan --preflight` against a loopback API server (spawns bin/vnfpipe.js: npm run build first). */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeApiServer } from '../deploy/kubernetes/support/fake-apiserver.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Async: the API server answers from this process while the CLI runs. */
function vnfpipe(env: NodeJS.ProcessEnv, ...args: string[]) {
  const child = spawn(process.execPath, [join(ROOT, 'bin/vnfpipe.js'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  child.stdout.resume();
  return new Promise<{ status: number | null; stderr: string }>((resolve) =>
    child.on('close', (status) => resolve({ status, stderr })),
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
