/**
 * Dockerfile builds through BuildKit's `dockerfile.v0` frontend, ending in our OCI layout or, like
 * `docker build -t`, in the engine's image store. On the engine's embedded BuildKit (v0.8 has no `oci`
 * exporter) the `moby` exporter stores the image in the engine; for a layout it goes there under a temporary
 * tag, `/images/{tag}/get` streams it back as a docker archive, which is copied into the layout and the tag
 * removed. The build cache stays in BuildKit, so a warm rebuild exports the same image.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DockerEngine } from '../deploy/engine/client.js';
import { VnfpipeError } from '../errors.js';
import type { Descriptor } from '../oci/descriptor.js';
import { OciLayout } from '../oci/layout.js';
import { tagLayoutImage } from '../oci/layout-image.js';
import { importOciArchiveStream } from '../oci/oci-archive-stream.js';
import { pidOf, removeOrphanedTemps } from '../pipeline/fsutil.js';
import { type BuildkitAddress, parseBuildkitAddress } from './address.js';
import { BuildkitClient } from './client.js';
import { openControlSession } from './control-session.js';
import { credentialsFrom } from './credentials.js';
import { engineOf, exportFromEngine, untag } from './engine-image.js';
import type { FileSendSink } from './filesend.js';
import { PhaseTimer, type PhaseTimings } from './phases.js';
import { type BuildkitSession, openEngineSession, type SessionOptions } from './session.js';
import { type SolveListener, solve } from './solve.js';

/** Where the image goes: an OCI layout under a name, or the engine's image store under a tag. */
export type DockerfileDestination =
  | { layout: string; name: string }
  | { engineImage: string }
  /** The final stage's file system as one tar (BuildKit's `tar` exporter, like `docker build -o type=tar`). */
  | { tarFile: string };

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

export interface TarBuildResult {
  /** `tar:<file>`. */
  ref: string;
  tarFile: string;
  size: number;
}

export type DockerfileBuildResult = (LayoutBuildResult | EngineBuildResult | TarBuildResult) & {
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
  const secrets = new Map(
    Object.entries(options.secrets ?? {}).map(([id, v]) => [id, typeof v === 'string' ? Buffer.from(v) : v]),
  );
  const mask = [...secrets.values()].map((v) => Buffer.from(v).toString('utf8')).filter((v) => v.length >= 3);

  const phases = new PhaseTimer();
  const plan = exportPlan(options, address);
  const { client, session } = await connect(address, plan, {
    dirs: { context, dockerfile: dirname(dockerfile) },
    secrets,
    credentials: credentialsFrom(),
    ...(plan.sink ? { fileSend: plan.sink } : {}),
  });
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
        Exporter: plan.exporter,
        ExporterAttrs: plan.attrs,
      },
      options.listener,
      mask,
      options.signal,
    );
    phases.end('solve');
    const result = await plan.finish();
    phases.end('export');
    // The timings object is filled in to the end (cleanup included) before the caller reads it.
    return { ...result, phases: phases.all };
  } finally {
    session.close();
    client.close();
    await plan.cleanup();
    phases.end('cleanup');
  }
}

/** The Control connection, probed for the exporter, and the session (on the engine both open at once). */
async function connect(
  address: BuildkitAddress,
  plan: ExportPlan,
  sessionOptions: SessionOptions,
): Promise<{ client: BuildkitClient; session: BuildkitSession }> {
  const probed = BuildkitClient.connect(address).then(async (c) => {
    try {
      await c.require({ exporter: plan.exporter });
      return c;
    } catch (error) {
      c.close();
      throw error;
    }
  });
  if (address.kind !== 'engine') {
    // A standalone buildkitd carries the session inside a Control call: the connection comes first.
    const client = await probed;
    try {
      return { client, session: await openControlSession(client, sessionOptions) };
    } catch (error) {
      client.close();
      throw error;
    }
  }
  const [connected, opened] = await Promise.allSettled([probed, openEngineSession(address, sessionOptions)]);
  if (connected.status === 'rejected' || opened.status === 'rejected') {
    if (connected.status === 'fulfilled') connected.value.close();
    if (opened.status === 'fulfilled') opened.value.close();
    throw connected.status === 'rejected' ? connected.reason : (opened as PromiseRejectedResult).reason;
  }
  return { client: connected.value, session: opened.value };
}

interface ExportPlan {
  exporter: string;
  attrs: Record<string, string>;
  /** Receives the archive of a `tar` or `oci` exporter (FileSend). */
  sink?: FileSendSink;
  finish(): Promise<LayoutBuildResult | EngineBuildResult | TarBuildResult>;
  cleanup(): Promise<void>;
}

/**
 * How the image leaves BuildKit for the destination. The engine's BuildKit (v0.8) has no `oci` exporter:
 * images go into the engine (`moby`), and into a layout through a temporary tag and `/images/get`. A
 * standalone buildkitd sends an OCI archive over the session (`oci`), read straight into the layout.
 */
function exportPlan(options: DockerfileBuildOptions, address: BuildkitAddress): ExportPlan {
  const nothing = async () => {};
  if ('tarFile' in options) {
    const receiving = receiveFile(resolve(options.tarFile));
    return {
      exporter: 'tar',
      attrs: {},
      sink: receiving.sink,
      finish: receiving.finish,
      cleanup: receiving.cleanup,
    };
  }
  if (address.kind !== 'engine') {
    if ('engineImage' in options) {
      throw new VnfpipeError('USAGE', 'a standalone buildkitd has no engine to keep the image in', {
        where: address.display,
        hint: 'build into oci:<dir>:<ref> or a registry tag, or use BUILDKIT_HOST=docker://',
      });
    }
    const layoutDir = resolve(options.layout);
    let received: Promise<{ layout: OciLayout; descriptor: Descriptor }> | undefined;
    return {
      exporter: 'oci',
      attrs: { name: options.name },
      sink: (archive) => {
        received = OciLayout.openOrCreate(layoutDir).then(async (layout) => ({
          layout,
          descriptor: await importOciArchiveStream(archive, layout, {
            where: `${address.display} (oci export)`,
          }),
        }));
        return received.then(() => undefined);
      },
      finish: async () => {
        if (!received)
          throw new VnfpipeError('STEP_FAILED', 'the oci exporter sent no archive', {
            where: address.display,
          });
        const { layout, descriptor } = await received;
        return tagLayoutImage(layout, options.name, descriptor);
      },
      cleanup: nothing,
    };
  }
  const engine = engineOf(address);
  if ('engineImage' in options) {
    return {
      exporter: 'moby',
      attrs: { name: options.engineImage },
      finish: () => engineImageOf(engine, options.engineImage),
      cleanup: nothing,
    };
  }
  // The engine keeps the image only until it is exported: under a tag no one else uses.
  const tag = `vnfpipe-build/${randomUUID()}:latest`;
  return {
    exporter: 'moby',
    attrs: { name: tag },
    finish: () => intoLayout(engine, tag, options.layout, options.name),
    cleanup: () => untag(engine, tag),
  };
}

/** A FileSend archive written to a file: under a temporary name beside it, renamed once complete. */
function receiveFile(file: string) {
  const temp = join(dirname(file), `.${basename(file)}.vnfpipe-${process.pid}-${randomUUID().slice(0, 8)}`);
  // What an export to the same file killed midway left: `.<name>.vnfpipe-<pid>-<8 hex>`.
  const prefix = `.${basename(file)}.vnfpipe-`;
  const leftoverPid = (name: string) =>
    name.startsWith(prefix) ? pidOf(/^(\d+)-[0-9a-f]{8}$/, name.slice(prefix.length)) : undefined;
  let written: Promise<number> | undefined;
  return {
    sink: (archive: Readable) => {
      written = (async () => {
        await mkdir(dirname(file), { recursive: true });
        await removeOrphanedTemps(dirname(file), leftoverPid);
        await pipeline(archive, createWriteStream(temp, { highWaterMark: 4 * 1024 * 1024 }));
        return (await stat(temp)).size;
      })();
      return written.then(() => undefined);
    },
    finish: async (): Promise<TarBuildResult> => {
      if (!written)
        throw new VnfpipeError('STEP_FAILED', 'the tar exporter sent no archive', { where: file });
      const size = await written;
      await rename(temp, file);
      return { ref: `tar:${file}`, tarFile: file, size };
    },
    cleanup: () => rm(temp, { force: true }),
  };
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
  return tagLayoutImage(layout, name, imported.descriptor);
}
