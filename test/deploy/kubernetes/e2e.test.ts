/**
 * The contract scenarios against a real cluster, opt-in: set VNFPIPE_E2E_KUBECONFIG to a kubeconfig (kind or
 * k3d: README, "Kubernetes"). It uses a namespace of its own (VNFPIPE_E2E_NAMESPACE, default
 * vnfpipe-e2e), VNFPIPE_E2E_IMAGE (an image with a shell, pinned by digest, the cluster can pull), and no Multus or hugepages unless
 * VNFPIPE_E2E_HUGEPAGES=1 says the nodes have 2 MiB hugepages.
 */
import { describe, expect, it } from 'vitest';
import { KubernetesTarget } from '../../../src/deploy/kubernetes/target.js';
import type { Workload } from '../../../src/deploy/model.js';
import { VnfpipeError } from '../../../src/errors.js';

const KUBECONFIG = process.env.VNFPIPE_E2E_KUBECONFIG;
const NS = process.env.VNFPIPE_E2E_NAMESPACE ?? 'vnfpipe-e2e';
// An image with a shell, pinned by digest, that the cluster can pull (busybox from its registry mirror).
const GOOD = process.env.VNFPIPE_E2E_IMAGE ?? '';
const MISSING = `${GOOD.split('@')[0]}@sha256:${'0'.repeat(64)}`;

const reason =
  KUBECONFIG && GOOD
    ? ''
    : ' — skipped: set VNFPIPE_E2E_KUBECONFIG (a cluster’s kubeconfig) and VNFPIPE_E2E_IMAGE (a pinned image with a shell) to run it';

function workload(image: string, extra: Partial<Workload> = {}): Workload {
  return {
    name: 'vnfpipe-e2e',
    image,
    command: ['sh', '-c', 'echo started; exec sleep 3600'],
    replicas: 1,
    resources: { cpus: 0.1, memory: '32Mi' },
    stopGracePeriod: 1,
    ...extra,
  };
}

async function failed(promise: Promise<unknown>): Promise<VnfpipeError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof VnfpipeError)) throw new Error(`expected a VnfpipeError, got ${String(outcome)}`);
  return outcome;
}

describe.skipIf(!KUBECONFIG || !GOOD)(`kubernetes target against a real cluster${reason}`, () => {
  const target = () =>
    KubernetesTarget.connect(
      { namespace: NS, kubeconfig: KUBECONFIG! },
      {},
      { createNamespace: true, timeoutMs: 180_000 },
    );

  it('deploys, rolls out, promotes; a pull failure names the image and rolls back to the verified revision', async () => {
    const t = target();
    await t.destroy(workload(GOOD));
    const first = await t.deploy(workload(GOOD));
    await t.promote(first);
    const error = await failed(t.deploy(workload(MISSING)));
    expect(error.message).toContain(`cannot pull image ${MISSING}`);
    expect((await t.history('vnfpipe-e2e')).map((r) => r.status)).toEqual(['verified', 'failed']);
    const back = await t.rollback('vnfpipe-e2e');
    expect(back.revision).toBe(first.revision);
    await t.destroy(workload(GOOD));
  }, 600_000);

  it('refuses before applying when no node has the hugepages', async () => {
    const error = await failed(
      target().deploy(
        workload(GOOD, {
          resources: { cpus: 1, memory: '64Mi', hugepages: { size: '2Mi', pages: 1_000_000 } },
        }),
      ),
    );
    expect(error.message).toMatch(/the cluster cannot run 1 pod of vnfpipe-e2e/);
    expect(error.hint).toMatch(/hugepages-2Mi/);
  });

  it.skipIf(process.env.VNFPIPE_E2E_HUGEPAGES !== '1')(
    'runs a pod with 2 MiB hugepages (VNFPIPE_E2E_HUGEPAGES=1)',
    async () => {
      const t = target();
      const release = await t.deploy(
        workload(GOOD, { resources: { cpus: 1, memory: '64Mi', hugepages: { size: '2Mi', pages: 16 } } }),
      );
      expect(release.revision).toBeGreaterThan(0);
      await t.destroy(workload(GOOD));
    },
    600_000,
  );
});
