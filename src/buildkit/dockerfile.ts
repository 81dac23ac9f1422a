/**
 * Dockerfile builds through BuildKit's `dockerfile.v0` frontend, ending in our OCI layout or, like
 * `docker build -t`, in the engine's image store. On the engine's embedded BuildKit (v0.8 has no `oci`
 * exporter) the `moby` exporter stores the image in the engine; for a layout it goes there under a temporary
 * tag, `/images/{tag}/get` streams it back as a docker archive, which is copied into the layout and the tag
 * removed. The build cache stays in BuildKit, so a warm rebuild exports the same image.
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

/** Where the image goes: an OCI layout under a name, or the engine's image store under a tag. */
export type DockerfileDestination = { layout: string; name: string } | { engineImage: string };

export type DockerfileBuildOptions = DockerfileBuildCommon & DockerfileDestination;

interface DockerfileBuildCommon {
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
  /** Default: `BUILDKIT_HOST`, else the Docker engine. */
  address?: BuildkitAddress;
  listener?: SolveListener;
  signal?: AbortSignal;
}

export interface LayoutBuildResult {
  ref: string;
  digest: string;
  layout: string;
  mediaType: string;
}

export interface EngineBuildResult {
  /** `docker-daemon:<name>`, as skopeo names an engine image. */
  ref: string;
  /** The engine's image id: the digest of the image config. */
  imageId: string;
}

export type DockerfileBuildResult = (LayoutBuildResult | EngineBuildResult) & {
  /** Wall-clock milliseconds of each phase, in order (for `--profile` and the bench breakdown). */
  phases: PhaseTimings;
};

export async function buildDockerfile(
  options: DockerfileBuildOptions & { layout: string },
): Promise<LayoutBuildResult & { phases: PhaseTimings }>;
export async function buildDockerfile(options: DockerfileBuildOptions): Promise<DockerfileBuildResult>;
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
  const intoEngine = 'engineImage' in options;
  // Into a layout, the engine keeps the image only until it is exported: under a tag no one else uses.
  const tag = intoEngine ? options.engineImage : `vnfpipe-build/${randomUUID()}:latest`;
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
    const result = intoEngine
      ? await engineImageOf(engine, tag)
      : await intoLayout(engine, tag, options.layout, options.name);
    phases.end('export');
    // The timings object is filled in to the end (cleanup included) before the caller reads it.
    return { ...result, phases: phases.all };
  } finally {
    session.close();
    client.close();
    if (!intoEngine) await untag(engine, tag);
    phases.end('cleanup');
  }
}

async function requireFile(path: string, what: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) throw new VnfpipeError('USAGE', `${what} not found`, { where: path });
}

async function engineImageOf(engine: DockerEngine, name: string): Promise<EngineBuildResult> {
  const info = await engine.json<{ Id: string }>({ path: `/images/${encodeURIComponent(name)}/json` });
  return { ref: `docker-daemon:${name}`, imageId: info.Id };
}

/** Copies the engine's image into the layout and tags it `name`. */
async function intoLayout(
  engine: DockerEngine,
  tag: string,
  layoutDir: string,
  name: string,
): Promise<LayoutBuildResult> {
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
