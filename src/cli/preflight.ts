/** `vnfpipe plan --preflight`: each kubernetes deploy step's preflight against its cluster, nothing applied. */
import { resolve } from 'node:path';
import type { Pipeline } from '../pipeline/define.js';

interface KubernetesStepOptions {
  workload: Record<string, unknown> & { name: string };
  namespace: string;
  context?: string;
  kubeconfig?: string;
  kind?: 'Deployment' | 'StatefulSet' | 'DaemonSet';
}

/** Prints one verdict per step on stderr; true when a step's VNF cannot fit. */
export async function preflightKubernetesSteps(pipeline: Pipeline, cwd: string): Promise<boolean> {
  const { KubernetesTarget } = await import('../deploy/kubernetes/target.js');
  let refused = false;
  for (const step of pipeline.steps) {
    if ((step.spec as { deployTarget?: string }).deployTarget !== 'kubernetes') continue;
    const opts = step.spec.options as KubernetesStepOptions;
    try {
      const target = KubernetesTarget.connect(
        {
          namespace: opts.namespace,
          ...(opts.context ? { context: opts.context } : {}),
          ...(opts.kubeconfig ? { kubeconfig: resolve(cwd, opts.kubeconfig) } : {}),
        },
        process.env,
      );
      // Requests decide the fit, not the image: a placeholder digest renders what would be applied.
      const workload = { ...opts.workload, image: `preflight.invalid/vnf@sha256:${'0'.repeat(64)}` };
      await target.preflight(workload as never, {
        ...(opts.kind ? { kind: opts.kind } : {}),
        log: (line) => process.stderr.write(`preflight ${step.id}: ${line}\n`),
      });
      process.stderr.write(`preflight ${step.id}: the cluster can hold ${opts.workload.name}\n`);
    } catch (error) {
      refused = true;
      const hint = (error as { hint?: string }).hint;
      process.stderr.write(
        `preflight ${step.id}: ${error instanceof Error ? error.message : String(error)}\n${hint ? `${hint.replace(/^/gm, '  ')}\n` : ''}`,
      );
    }
  }
  return refused;
}
