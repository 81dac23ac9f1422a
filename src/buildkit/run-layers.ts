/**
 * `image.run(...)` layers on the engine's BuildKit: the image built so far (in our layout) is loaded into the
 * engine under a temporary tag, the runs are compiled to LLB on top of it and exported with `moby`, and the
 * result is read back into the layout. The moby exporter gives raw LLB results an empty config, so the
 * config is the base's with the new layers' diff-ids and history entries appended.
 */
import { randomUUID } from 'node:crypto';
import { loadLayoutImage } from '../deploy/docker/load.js';
import { VnfpipeError } from '../errors.js';
import type { ImageConfig } from '../oci/config.js';
import type { Descriptor } from '../oci/descriptor.js';
import { OciLayout } from '../oci/layout.js';
import { canonicalJson, type ImageManifest } from '../oci/manifest.js';
import { MediaType } from '../oci/media-types.js';
import { type BuildkitAddress, parseBuildkitAddress } from './address.js';
import { BuildkitClient } from './client.js';
import { credentialsFrom } from './credentials.js';
import { engineOf, exportFromEngine, untag } from './engine-image.js';
import { compileRuns, type RunStep } from './llb.js';
import { openEngineSession } from './session.js';
import { type SolveListener, solve } from './solve.js';

export interface RunLayersOptions {
  /** Layout holding the base image, which also receives the result. */
  layout: string;
  /** Ref of the base image in the layout. */
  base: string;
  runs: readonly RunStep[];
  secrets?: Record<string, string | Uint8Array>;
  address?: BuildkitAddress;
  listener?: SolveListener;
  log?: (line: string) => void;
  /** `created` of the new history entries (ISO time), like the native builder's epoch. */
  created?: string;
  signal?: AbortSignal;
}

/** Returns the new image's manifest descriptor (written into the layout, not tagged). */
export async function buildRunLayers(options: RunLayersOptions): Promise<Descriptor> {
  const address = options.address ?? parseBuildkitAddress(process.env.BUILDKIT_HOST);
  if (address.kind !== 'engine') {
    throw new VnfpipeError('USAGE', 'image.run layers need the Docker engine’s BuildKit', {
      where: address.display,
      hint: 'missing feature: loading the base into a standalone buildkitd; use BUILDKIT_HOST=docker://',
    });
  }
  const layout = await OciLayout.open(options.layout);
  const baseDescriptor = await layout.resolve(options.base);
  const baseManifest = await layout.readManifest(baseDescriptor);
  const baseConfig = await layout.readConfig(baseManifest.config);
  const engine = engineOf(address);
  const id = randomUUID();
  const baseTag = `vnfpipe-run/${id}:base`;
  const resultTag = `vnfpipe-run/${id}:result`;
  const secrets = new Map(
    Object.entries(options.secrets ?? {}).map(([k, v]) => [k, typeof v === 'string' ? Buffer.from(v) : v]),
  );
  const mask = [...secrets.values()].map((v) => Buffer.from(v).toString('utf8')).filter((v) => v.length >= 3);
  const client = await BuildkitClient.connect(address);
  try {
    const imageId = await loadLayoutImage(
      engine,
      `oci:${options.layout}:${options.base}`,
      '/',
      options.log ?? (() => {}),
    );
    const [repo, tag] = baseTag.split(':') as [string, string];
    await engine.call({ method: 'POST', path: `/images/${imageId}/tag`, query: { repo, tag } });
    await client.require({ exporter: 'moby' });
    const definition = compileRuns(
      {
        ref: `docker.io/${baseTag}`,
        env: baseConfig.config?.Env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        ...(baseConfig.config?.WorkingDir ? { workdir: baseConfig.config.WorkingDir } : {}),
        ...(baseConfig.config?.User ? { user: baseConfig.config.User } : {}),
        platform: {
          os: baseConfig.os,
          architecture: baseConfig.architecture,
          ...(baseConfig.variant ? { variant: baseConfig.variant } : {}),
        },
      },
      options.runs,
    );
    const session = await openEngineSession(address, { secrets, credentials: credentialsFrom() });
    try {
      await solve(
        client,
        { Definition: definition, Session: session.id, Exporter: 'moby', ExporterAttrs: { name: resultTag } },
        options.listener,
        mask,
        options.signal,
      );
    } finally {
      session.close();
    }
    const exported = await exportFromEngine(engine, resultTag, layout);
    return await withBaseConfig(layout, baseConfig, exported.config, exported.manifest, options);
  } finally {
    client.close();
    await untag(engine, resultTag);
    await untag(engine, baseTag);
  }
}

async function withBaseConfig(
  layout: OciLayout,
  base: ImageConfig,
  exported: ImageConfig,
  manifest: ImageManifest,
  options: RunLayersOptions,
): Promise<Descriptor> {
  const before = base.rootfs.diff_ids;
  const after = exported.rootfs.diff_ids;
  if (after.length < before.length || before.some((d, i) => after[i] !== d)) {
    throw new VnfpipeError('BUILD_FAILED', 'BuildKit’s result does not start with the base image’s layers', {
      where: options.base,
    });
  }
  const added = after.length - before.length;
  const created = options.created ?? base.created;
  // A run that changes nothing adds no layer: its history entry is marked empty.
  const history = [...(base.history ?? [])];
  options.runs.forEach((run, i) => {
    const text = typeof run.command === 'string' ? run.command : JSON.stringify(run.command);
    history.push({
      ...(created ? { created } : {}),
      created_by: `RUN ${text} # buildkit`,
      ...(i >= added ? { empty_layer: true } : {}),
    });
  });
  if (added > options.runs.length) {
    throw new VnfpipeError(
      'BUILD_FAILED',
      `BuildKit returned ${added} layers for ${options.runs.length} runs`,
      {
        where: options.base,
      },
    );
  }
  const config: ImageConfig = { ...base, rootfs: { type: 'layers', diff_ids: after }, history };
  const configDescriptor = await layout.writeBlob(canonicalJson(config), MediaType.ociConfig);
  const out: ImageManifest = {
    ...manifest,
    config: { mediaType: MediaType.ociConfig, digest: configDescriptor.digest, size: configDescriptor.size },
  };
  const written = await layout.writeBlob(canonicalJson(out), MediaType.ociManifest);
  return {
    mediaType: MediaType.ociManifest,
    digest: written.digest,
    size: written.size,
    platform: { os: base.os, architecture: base.architecture },
  };
}
