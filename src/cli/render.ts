/**
 * `vnfpipe render`: the objects of every kubernetes deploy step as YAML, one file per workload with the
 * documents in apply order — to review, or as a GitOps directory (Argo CD and Flux pick it up). No cluster.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { VnfpipeError } from '../errors.js';
import { loadPipeline } from '../pipeline/loader.js';
import { OUTPUT_REF } from '../pipeline/model.js';

export interface RenderOptions {
  file: string;
  step?: string;
  out?: string;
  /** The image for steps whose image is another step's output (known only when the pipeline runs). */
  image?: string;
}

interface KubernetesStep {
  workload: Record<string, unknown> & { name: string; image: unknown };
  namespace: string;
  kind?: 'Deployment' | 'StatefulSet' | 'DaemonSet';
  createNamespace?: boolean;
}

export async function renderCommand(opts: RenderOptions): Promise<number> {
  const { pipeline } = await loadPipeline(opts.file);
  const steps = pipeline.steps.filter(
    (s) =>
      (s.spec as { deployTarget?: string }).deployTarget === 'kubernetes' &&
      (!opts.step || s.id === opts.step),
  );
  if (steps.length === 0) {
    throw new VnfpipeError(
      'USAGE',
      opts.step ? `no kubernetes deploy step '${opts.step}'` : 'the pipeline has no kubernetes deploy step',
      { where: opts.file, hint: 'deploy.kubernetes({ workload, namespace }) declares one' },
    );
  }
  const [{ renderKubernetes, toYaml }, { pinnedImage }] = await Promise.all([
    import('../deploy/kubernetes/index.js'),
    import('../deploy/step.js'),
  ]);
  const outDir = opts.out ? resolve(opts.out) : undefined;
  if (outDir) await mkdir(outDir, { recursive: true });
  for (const step of steps) {
    const options = step.spec.options as KubernetesStep;
    const image = imageOf(step.id, options.workload.image, opts.image, pinnedImage);
    const objects = renderKubernetes({ ...options.workload, image } as never, {
      namespace: options.namespace,
      image,
      ...(options.kind ? { kind: options.kind } : {}),
      ...(options.createNamespace ? { createNamespace: true } : {}),
    });
    const yaml = toYaml(objects);
    if (outDir) {
      const file = join(outDir, `${options.workload.name}.yaml`);
      await writeFile(file, yaml);
      process.stderr.write(`${step.id}: ${objects.length} objects → ${file}\n`);
    } else {
      process.stdout.write(`# step ${step.id}\n${yaml}`);
    }
  }
  return 0;
}

function imageOf(
  stepId: string,
  image: unknown,
  override: string | undefined,
  pinned: (image: string | { ref: string; digest: string }) => string,
): string {
  if (override) return override;
  if (image && typeof image === 'object' && OUTPUT_REF in image) {
    const from = (image as { [OUTPUT_REF]: { step: string } })[OUTPUT_REF].step;
    throw new VnfpipeError(
      'USAGE',
      `step ${stepId}'s image is the output of step ${from}, known only when it runs`,
      {
        hint: 'pass --image registry/repo@sha256:… to render with a given image',
      },
    );
  }
  return pinned(image as string);
}
