/**
 * Dockerfile builds through BuildKit's `dockerfile.v0` frontend, ending in our OCI layout. On the engine's
 * embedded BuildKit (v0.8 has no `oci` exporter) the `moby` exporter stores the image in the engine under a
 * temporary tag; `/images/{tag}/get` streams it back as a docker archive, which is copied into the layout
 * and the tag removed. The build cache stays in BuildKit, so a warm rebuild exports the same image.
 */
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { DockerEngine } from '../deploy/engine/client.js';
import { VnfpipeError } from '../errors.js';
import { OciLayout } from '../oci/layout.js';
import { type BuildkitAddress, parseBuildkitAddress } from './address.js';
import { BuildkitClient } from './client.js';
import { credentialsFrom } from './credentials.js';
import { engineOf, exportFromEngine, untag } from './engine-image.js';
import { PhaseTimer, type PhaseTimings } from './phases.js';
import { openEngineSession } from './session.js';
import { type SolveListener, solve } from './solve.js';

export interface DockerfileBuildOptions {
  /** Build context directory. */
  context: string;
  /** Dockerfile path (default `<context>/Dockerfile`). */
  dockerfile?: string;
  buildArgs?: Record<string, string>;
  target?: string;
  noCache?: boolean;
  labels?: Record<string, string>;
  /** Secret id → value, for `RUN --mount=type=secret,id=…`. */
  secrets?: Record<string, string | Uint8Array>;
  /** OCI layout directory and the name the image gets in it. */
  layout: string;
  name: string;
  /** Default: `BUILDKIT_HOST`, else the Docker engine. */
  address?: BuildkitAddress;
  listener?: SolveListener;
  signal?: AbortSignal;
}

export interface DockerfileBuildResult {
  ref: string;
  digest: string;
  layout: string;
  mediaType: string;
  /** Wall-clock milliseconds of each phase, in order (for `--profile` and the bench breakdown). */
  phases: PhaseTimings;
}

export async function buildDockerfile(options: DockerfileBuildOptions): Promise<DockerfileBuildResult> {
  const context = resolve(options.context);
  const dockerfile = resolve(context, options.dockerfile ?? 'Dockerfile');
  await requireFile(dockerfile, 'Dockerfile');
  const contextInfo = await stat(context).catch(() => undefined);
  if (!contextInfo?.isDirectory()) {
    throw new VnfpipeError('USAGE', 'the build context is not a directory', { where: context });
  }
  const address = options.address ?? parseBuildkitAddress(process.env.BUILDKIT_HOST);
  if (address.kind !== 'engine') {
    // A standalone buildkitd exports through FileSend (`oci` exporter), which this client does not serve yet.
    throw new VnfpipeError('USAGE', `Dockerfile builds into a layout need the Docker engine's BuildKit`, {
      where: address.display,
      hint: 'missing feature: the oci exporter over a FileSend session; use BUILDKIT_HOST=docker://',
    });
  }
  const secrets = new Map(
    Object.entries(options.secrets ?? {}).map(([id, v]) => [id, typeof v === 'string' ? Buffer.from(v) : v]),
  );
  const mask = [...secrets.values()].map((v) => Buffer.from(v).toString('utf8')).filter((v) => v.length >= 3);

  const phases = new PhaseTimer();
  // The Control connection (with its probe) and the session socket are independent: open them together.
  const [connected, opened] = await Promise.allSettled([
    BuildkitClient.connect(address).then(async (c) => {
      try {
        await c.require({ exporter: 'moby' });
        return c;
      } catch (error) {
        c.close();
        throw error;
      }
    }),
    openEngineSession(address, {
      dirs: { context, dockerfile: dirname(dockerfile) },
      secrets,
      credentials: credentialsFrom(),
    }),
  ]);
  if (connected.status === 'rejected' || opened.status === 'rejected') {
    if (connected.status === 'fulfilled') connected.value.close();
    if (opened.status === 'fulfilled') opened.value.close();
    throw connected.status === 'rejected' ? connected.reason : (opened as PromiseRejectedResult).reason;
  }
  const client = connected.value;
  const session = opened.value;
  const tag = `vnfpipe-build/${randomUUID()}:latest`;
  const engine = engineOf(address);
  try {
    phases.end('connect');
    const attrs: Record<string, string> = { filename: basename(dockerfile) };
    for (const [k, v] of Object.entries(options.buildArgs ?? {})) attrs[`build-arg:${k}`] = v;
    for (const [k, v] of Object.entries(options.labels ?? {})) attrs[`label:${k}`] = v;
    if (options.target) attrs.target = options.target;
    if (options.noCache) attrs['no-cache'] = '';
    await solve(
      client,
      {
        Frontend: 'dockerfile.v0',
        FrontendAttrs: attrs,
        Session: session.id,
        Exporter: 'moby',
        ExporterAttrs: { name: tag },
      },
      options.listener,
      mask,
      options.signal,
    );
    phases.end('solve');
    const result = await intoLayout(engine, tag, options.layout, options.name);
    phases.end('export');
    // The timings object is filled in to the end (cleanup included) before the caller reads it.
    return { ...result, phases: phases.all };
  } finally {
    session.close();
    client.close();
    await untag(engine, tag);
    phases.end('cleanup');
  }
}

async function requireFile(path: string, what: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) throw new VnfpipeError('USAGE', `${what} not found`, { where: path });
}

/** Copies the engine's image into the layout and tags it `name`. */
async function intoLayout(
  engine: DockerEngine,
  tag: string,
  layoutDir: string,
  name: string,
): Promise<Omit<DockerfileBuildResult, 'phases'>> {
  const layout = await OciLayout.openOrCreate(resolve(layoutDir));
  const imported = await exportFromEngine(engine, tag, layout);
  await layout.tag(name, imported.descriptor);
  return {
    ref: `oci:${resolve(layoutDir)}:${name}`,
    digest: imported.descriptor.digest,
    layout: resolve(layoutDir),
    mediaType: imported.descriptor.mediaType,
  };
}
