/**
 * `image.build` with `image.run(...)` layers: consecutive file layers are built by the native builder,
 * consecutive run layers by BuildKit over the image built so far (src/buildkit/run-layers.ts), each segment
 * tagged as a part in the layout until the last one takes the step's name.
 */
import { randomUUID } from 'node:crypto';
import type { RunMount, RunStep } from '../buildkit/llb.js';
import { VnfpipeError } from '../errors.js';
import { tagLayoutImage } from '../oci/layout-image.js';
import type { BuildOptions, ImageRef, LayerSpec } from './types.js';

/** A run layer as the step resolves it: secret mounts carry their value. */
export interface ResolvedRunLayer extends Omit<RunStep, 'mounts'> {
  mounts?: Array<RunMount | (Extract<RunMount, { type: 'secret' }> & { value: string })>;
}

export type MixedLayer = LayerSpec | { run: ResolvedRunLayer; name?: string };

export function isRunLayer(layer: unknown): layer is { run: ResolvedRunLayer } {
  return (
    typeof layer === 'object' &&
    layer !== null &&
    'run' in layer &&
    (layer as { run?: unknown }).run !== undefined
  );
}

export async function buildWithRuns(
  options: Omit<BuildOptions, 'layers'> & {
    layers: MixedLayer[];
    buildkitHost?: string;
    processEnv?: Readonly<Record<string, string | undefined>>;
  },
): Promise<ImageRef> {
  if (options.platforms?.length) {
    throw new VnfpipeError('PIPELINE_INVALID', 'image.run layers build one platform: drop `platforms`', {
      where: 'layers',
    });
  }
  const [{ buildImage }, { buildRunLayers }, { parseBuildkitAddress }, { OciLayout }, { resolve }] =
    await Promise.all([
      import('./builder.js'),
      import('../buildkit/run-layers.js'),
      import('../buildkit/address.js'),
      import('../oci/layout.js'),
      import('node:path'),
    ]);
  // Segments alternate: files first (possibly none, to bring the base into the layout), then runs, ….
  const segments: Array<{ files: LayerSpec[] } | { runs: ResolvedRunLayer[] }> = [{ files: [] }];
  for (const layer of options.layers) {
    const last = segments.at(-1)!;
    if (isRunLayer(layer)) {
      if ('runs' in last) last.runs.push(layer.run);
      else segments.push({ runs: [layer.run] });
    } else if ('files' in last) last.files.push(layer);
    else segments.push({ files: [layer] });
  }
  const layoutDir = resolve(options.context, options.layout!);
  const address = parseBuildkitAddress(
    options.buildkitHost ?? options.processEnv?.BUILDKIT_HOST,
    options.processEnv ?? process.env,
  );
  const part = `${options.name}.part-${randomUUID().slice(0, 8)}`;
  const parts: string[] = [];
  let from = options.from;
  try {
    for (const [i, segment] of segments.entries()) {
      const name = `${part}-${i}`;
      parts.push(name);
      if ('files' in segment) {
        const { processEnv: _env, buildkitHost: _host, ...native } = options;
        await buildImage({ ...native, from, layers: segment.files, name });
      } else {
        const secrets: Record<string, string> = {};
        const runs: RunStep[] = segment.runs.map((run) => ({
          ...run,
          mounts: run.mounts?.map((mount) => {
            if (mount.type !== 'secret' || !('value' in mount)) return mount;
            const { value, ...rest } = mount;
            secrets[mount.id] = value;
            return rest;
          }),
        }));
        const descriptor = await buildRunLayers({
          layout: layoutDir,
          base: `${part}-${i - 1}`,
          runs,
          secrets,
          address,
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.onLog
            ? { log: options.onLog, listener: { onLog: (l) => options.onLog!(l.line) } }
            : {}),
        });
        await (await OciLayout.open(layoutDir)).tag(name, descriptor);
      }
      from = `oci:${layoutDir}:${name}`;
    }
    const layout = await OciLayout.open(layoutDir);
    return await tagLayoutImage(layout, options.name, await layout.resolve(parts.at(-1)!));
  } finally {
    const layout = await OciLayout.open(layoutDir).catch(() => undefined);
    for (const name of parts) await layout?.untag(name).catch(() => false);
  }
}
