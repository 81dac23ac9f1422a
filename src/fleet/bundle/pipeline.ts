/**
 * What a pipeline ships, for a bundle. Images are found in registries, where signatures and attestations
 * live: the outputs of the pipeline's push steps and the images of its deploy steps — literal references,
 * or other steps' outputs taken from the newest run that recorded them in `.vnfpipe/runs` (as
 * `run --stage` borrows them). Build layouts are not read: an image is bundled as it was pushed and signed.
 * Files: each deploy step's workload spec (image pinned), and each kubernetes step's rendered objects.
 */
import { join } from 'node:path';
import { VnfpipeError } from '../../errors.js';
import { findPreviousOutputs } from '../../pipeline/journal.js';
import { loadPipeline } from '../../pipeline/loader.js';
import { OUTPUT_REF, type OutputRefInfo } from '../../pipeline/model.js';
import type { BundleFileInput } from './create.js';

export interface PipelineContents {
  pipeline: string;
  /** Registry references, pinned by digest where the journal knows it. */
  images: string[];
  files: BundleFileInput[];
}

interface DeployOptions {
  workload: Record<string, unknown> & { name: string; image: unknown };
  namespace?: string;
  kind?: 'Deployment' | 'StatefulSet' | 'DaemonSet';
  createNamespace?: boolean;
  engine?: string;
}

function refInfo(value: unknown): OutputRefInfo | undefined {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return undefined;
  return OUTPUT_REF in value ? (value as { [OUTPUT_REF]: OutputRefInfo })[OUTPUT_REF] : undefined;
}

function at(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) current = (current as Record<string, unknown> | undefined)?.[key];
  return current;
}

/** A push output or an ImageRef as `host/repo:tag@digest`. */
function imageText(value: unknown, where: string): string {
  if (typeof value === 'string') return value;
  const ref = value as { ref?: unknown; digest?: unknown } | undefined;
  if (typeof ref?.ref === 'string' && typeof ref.digest === 'string')
    return `${ref.ref.split('@')[0]}@${ref.digest}`;
  throw new VnfpipeError('PIPELINE_INVALID', 'the image is neither a reference nor an image output', {
    where,
  });
}

/** `host/repo:tag@digest` → `host/repo@digest`, as deploy steps pin images; other forms unchanged. */
function untagged(image: string): string {
  const at = image.indexOf('@');
  if (at === -1) return image;
  const name = image.slice(0, at);
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  return `${colon > slash ? name.slice(0, colon) : name}${image.slice(at)}`;
}

function notRegistry(image: string, where: string): VnfpipeError {
  return new VnfpipeError('USAGE', `image ${image} is not in a registry`, {
    where,
    hint: 'a bundle carries pushed images (with their signatures): deploy the push step output instead',
  });
}

export async function pipelineContents(file: string, cwd = process.cwd()): Promise<PipelineContents> {
  const loaded = await loadPipeline(file, cwd);
  const { pipeline } = loaded;
  const stateDir = join(loaded.cwd, '.vnfpipe');
  const pushes = pipeline.steps.filter((s) => s.spec.kind === 'push');
  const deploys = pipeline.steps.filter((s) => s.spec.kind === 'deploy');
  const wanted = new Set(pushes.map((s) => s.id));
  for (const step of deploys) {
    const from = refInfo((step.spec.options as DeployOptions).workload?.image);
    if (from) wanted.add(from.step);
  }
  const recorded = await findPreviousOutputs(stateDir, pipeline.name, [...wanted]);
  const missing = [...wanted].filter((id) => !recorded.has(id));
  if (missing.length)
    throw new VnfpipeError(
      'STAGE_INPUT_MISSING',
      `no run of '${pipeline.name}' recorded the output of ${missing.map((s) => `'${s}'`).join(', ')}`,
      {
        where: join(stateDir, 'runs'),
        hint: 'run the pipeline (at least its push stage) before bundling it',
      },
    );

  const images: string[] = [];
  const add = (image: string, where: string) => {
    if (image.startsWith('oci:') || image.startsWith('docker-archive:')) throw notRegistry(image, where);
    // One entry per image: a tagged reference (which the site gets too) wins over the same digest untagged.
    const key = untagged(image);
    const same = images.findIndex((i) => untagged(i) === key);
    if (same === -1) images.push(image);
    else if (key !== image && images[same] === key) images[same] = image;
  };
  for (const step of pushes)
    add(imageText(recorded.get(step.id)!.output, `step ${step.id}`), `step ${step.id}`);

  const files: BundleFileInput[] = [];
  for (const step of deploys) {
    const options = step.spec.options as DeployOptions;
    const from = refInfo(options.workload.image);
    const where = `step ${step.id}`;
    const image = from
      ? imageText(at(recorded.get(from.step)!.output, from.path), where)
      : imageText(options.workload.image, where);
    add(image, where);
    const pinned = untagged(image);
    const target = (step.spec as { deployTarget?: string }).deployTarget ?? 'docker';
    const workload = { ...options.workload, image: pinned };
    const spec = {
      step: step.id,
      target,
      workload,
      ...(options.namespace ? { namespace: options.namespace } : {}),
      ...(options.kind ? { kind: options.kind } : {}),
    };
    files.push({
      path: `workloads/${step.id}.json`,
      kind: 'workload',
      step: step.id,
      content: Buffer.from(`${JSON.stringify(spec, null, 2)}\n`),
    });
    if (target === 'kubernetes') {
      const { renderKubernetes, toYaml } = await import('../../deploy/kubernetes/index.js');
      const objects = renderKubernetes(workload as never, {
        namespace: options.namespace!,
        image: pinned,
        ...(options.kind ? { kind: options.kind } : {}),
        ...(options.createNamespace ? { createNamespace: true } : {}),
      });
      files.push({
        path: `kubernetes/${step.id}.yaml`,
        kind: 'kubernetes',
        step: step.id,
        content: Buffer.from(toYaml(objects)),
      });
    }
  }
  return { pipeline: pipeline.name, images, files };
}
