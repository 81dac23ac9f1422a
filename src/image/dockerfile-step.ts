/**
 * `image.dockerfile({...})`: a Dockerfile built by BuildKit into the pipeline's OCI layout, with the same
 * ImageRef output as `image.build`, so scan, push and deploy take it unchanged. Vertex states and RUN output
 * go to the step's log; secret values are handed to BuildKit's session only (and masked by the runner).
 */
import { VnfpipeError } from '../errors.js';
import type { StepContext, StepSpec } from '../pipeline/model.js';
import type { SecretRef } from '../pipeline/secret.js';
import { layoutImageProblem } from './layout-check.js';
import type { ImageRef } from './types.js';

export interface DockerfileStepOptions {
  /** Build context, relative to the project. */
  context: string;
  /** Dockerfile, relative to the context (default `Dockerfile`). */
  dockerfile?: string;
  buildArgs?: Record<string, string>;
  target?: string;
  /** `RUN --mount=type=secret,id=<key>` gets the value of `secret('NAME')`. */
  secrets?: Record<string, SecretRef>;
  labels?: Record<string, string>;
  noCache?: boolean;
  /** Ref name in the layout (default: the step id). */
  name?: string;
  /** OCI layout directory, relative to the project (default `<stateDir>/oci`). */
  layout?: string;
  /** BuildKit address (default: `BUILDKIT_HOST`, else the Docker engine). */
  buildkitHost?: string;
}

type ResolvedOptions = Omit<DockerfileStepOptions, 'secrets'> & { secrets?: Record<string, string> };

function invalid(option: string, message: string): VnfpipeError {
  return new VnfpipeError('PIPELINE_INVALID', `image.dockerfile: '${option}' ${message}`, { where: option });
}

function validate(options: DockerfileStepOptions): void {
  if (typeof options !== 'object' || options === null) throw invalid('options', 'must be an object');
  if (typeof options.context !== 'string' || options.context === '') {
    throw invalid('context', 'must name the build context directory');
  }
  for (const key of ['buildArgs', 'labels'] as const) {
    const value = options[key];
    if (value !== undefined && Object.values(value).some((v) => typeof v !== 'string')) {
      throw invalid(key, 'must map names to strings');
    }
  }
}

export function dockerfileStep(options: DockerfileStepOptions): StepSpec<ImageRef, DockerfileStepOptions> {
  return {
    kind: 'build',
    stage: 'build',
    options,
    validate,
    cacheInputs: (opts) => {
      const context = opts.context.replace(/\/+$/, '');
      return { files: [context, `${context}/**`] };
    },
    cacheOutputs: (output) => [`${output.layout}/blobs/sha256/${output.digest.slice('sha256:'.length)}`],
    cacheValid: async (output, _opts, ctx) => layoutImageProblem(ctx.cwd, output),
    run: (ctx, opts) => runDockerfile(ctx, opts as unknown as ResolvedOptions),
  };
}

async function runDockerfile(ctx: StepContext, options: ResolvedOptions): Promise<ImageRef> {
  const [{ buildDockerfile }, { parseBuildkitAddress }, { join, resolve, relative, isAbsolute }] =
    await Promise.all([
      import('../buildkit/dockerfile.js'),
      import('../buildkit/address.js'),
      import('node:path'),
    ]);
  const context = resolve(ctx.cwd, options.context);
  const layout = options.layout ? resolve(ctx.cwd, options.layout) : join(ctx.stateDir, 'oci');
  const built = await buildDockerfile({
    context,
    ...(options.dockerfile ? { dockerfile: resolve(context, options.dockerfile) } : {}),
    ...(options.buildArgs ? { buildArgs: options.buildArgs } : {}),
    ...(options.labels ? { labels: options.labels } : {}),
    ...(options.target ? { target: options.target } : {}),
    ...(options.noCache ? { noCache: true } : {}),
    ...(options.secrets ? { secrets: options.secrets } : {}),
    layout,
    name: options.name ?? ctx.stepId,
    signal: ctx.signal,
    address: parseBuildkitAddress(options.buildkitHost ?? ctx.env.BUILDKIT_HOST, ctx.env),
    listener: {
      onVertex: (v) => {
        const timing =
          v.durationMs !== undefined && v.state !== 'cached' ? ` ${(v.durationMs / 1000).toFixed(1)}s` : '';
        ctx.log(`${v.name} ${v.state}${timing}`, v.state === 'failed' ? 'warn' : 'info');
      },
      onLog: (l) => ctx.log(l.line, l.stream),
    },
  });
  ctx.log(`image ${built.ref}@${built.digest}`, 'info');
  const result: ImageRef = {
    ref: built.ref,
    digest: built.digest as ImageRef['digest'],
    layout,
    mediaType: built.mediaType,
  };
  // Outputs travel to other CI checkouts: a layout inside the project is named relative to it.
  const rel = relative(ctx.cwd, layout);
  if (rel.startsWith('..') || isAbsolute(rel)) return result;
  const name = rel === '' ? '.' : rel;
  return { ...result, layout: name, ref: result.ref.replace(`oci:${layout}:`, `oci:${name}:`) };
}
