/**
 * `vnfpipe image build|inspect|ls`: the native builder and the OCI model outside a pipeline, like
 * `crane append`/`crane mutate`, `skopeo inspect` and a layout listing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EXIT, VnfpipeError } from '../errors.js';
import type { ImageConfig } from '../oci/config.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { ImageIndex, ImageManifest } from '../oci/manifest.js';
import type { RegistryReference } from '../oci/reference.js';
import type { DockerfileCommandOptions } from './image-dockerfile.js';
import { printTable } from './table.js';

export interface ImageBuildCommandOptions extends Partial<Omit<DockerfileCommandOptions, 'tag' | 'label'>> {
  from?: string;
  layer?: string[];
  entrypoint?: string;
  cmd?: string;
  env?: string[];
  workdir?: string;
  user?: string;
  label?: string[];
  platform?: string;
  keepModes?: boolean;
  compression?: string;
  tag: string;
  json?: boolean;
  creds?: string;
  insecure?: boolean;
}

/** `["a","b"]` (JSON) or `a b` (split on white space). */
function argv(value: string | undefined, option: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (value.trim().startsWith('[')) {
    try {
      const parsed = JSON.parse(value) as unknown;
      if (Array.isArray(parsed) && parsed.every((item) => typeof item === 'string')) return parsed;
    } catch {
      // Reported below.
    }
    throw new VnfpipeError('USAGE', `${option} '${value}' is not a JSON array of strings`);
  }
  return value.split(/\s+/).filter(Boolean);
}

function pairs(values: string[] | undefined, option: string): Record<string, string> | undefined {
  if (!values?.length) return undefined;
  return Object.fromEntries(
    values.map((item) => {
      const at = item.indexOf('=');
      if (at <= 0) throw new VnfpipeError('USAGE', `${option} '${item}' is not KEY=VALUE`);
      return [item.slice(0, at), item.slice(at + 1)];
    }),
  );
}

/** `src:dest` — a host path and the absolute path it gets in the image. */
function layerMapping(spec: string): Record<string, string> {
  const at = spec.lastIndexOf(':/');
  if (at <= 0) throw new VnfpipeError('USAGE', `--layer '${spec}' is not <host path>:<absolute image path>`);
  return { [spec.slice(0, at)]: spec.slice(at + 1) };
}

export async function imageBuildCommand(opts: ImageBuildCommandOptions): Promise<number> {
  if (opts.dockerfile !== undefined) {
    if (opts.from !== undefined || opts.layer?.length) {
      throw new VnfpipeError('USAGE', '--dockerfile builds with BuildKit: --from and --layer do not apply');
    }
    const { dockerfileBuildCommand } = await import('./image-dockerfile.js');
    return dockerfileBuildCommand({ ...opts, dockerfile: opts.dockerfile });
  }
  if (opts.from === undefined) throw new VnfpipeError('USAGE', 'image build needs --from or --dockerfile');
  if (opts.tag.startsWith('docker-daemon:')) {
    throw new VnfpipeError('USAGE', `--tag ${opts.tag}: only --dockerfile builds happen in the engine`, {
      hint: 'build into oci:<dir>:<ref>, then load it: skopeo copy oci:<dir>:<ref> docker-daemon:<name>',
    });
  }
  const [{ buildImage, resolveEpoch }, { parseReference }] = await Promise.all([
    import('../image/index.js'),
    import('../oci/reference.js'),
  ]);
  const target = parseReference(opts.tag);
  const resolvers = [];
  if (!opts.from.startsWith('oci:') && !opts.from.startsWith('docker-archive:') && opts.from !== 'scratch') {
    const [{ createRegistryBaseResolver }, { credentialsFromString }] = await Promise.all([
      import('../registry/base.js'),
      import('../registry/auth/credentials.js'),
    ]);
    resolvers.push(
      createRegistryBaseResolver({
        env: process.env,
        ...(opts.insecure ? { insecure: true } : {}),
        ...(opts.creds ? { credentials: credentialsFromString(opts.creds) } : {}),
      }),
    );
  }
  // A registry destination is built into a scratch layout, then pushed.
  const scratch =
    target.transport === 'registry' ? await mkdtemp(join(tmpdir(), 'vnfpipe-image-')) : undefined;
  // Layers stream into the registry while they are compressed; the push below then sends the manifest.
  const publisher =
    target.transport === 'registry'
      ? (await import('../registry/publish.js')).registryPublisher(target, {
          client: await registryClientOptions(opts),
          onLog: opts.json ? undefined : (line) => process.stderr.write(`${line}\n`),
        })
      : undefined;
  try {
    const layout = target.transport === 'oci' ? resolve(target.dir) : scratch!;
    const name = target.transport === 'oci' ? (target.ref ?? 'latest') : 'latest';
    const config = {
      entrypoint: argv(opts.entrypoint, '--entrypoint'),
      cmd: argv(opts.cmd, '--cmd'),
      env: pairs(opts.env, '--env'),
      labels: pairs(opts.label, '--label'),
      ...(opts.workdir ? { workingDir: opts.workdir } : {}),
      ...(opts.user ? { user: opts.user } : {}),
    };
    const built = await buildImage({
      ...(publisher ? { publisher } : {}),
      context: process.cwd(),
      layout,
      name,
      cacheDir: resolve('.vnfpipe', 'cache', 'layers'),
      from: opts.from,
      resolvers,
      layers: (opts.layer ?? []).map((spec) => ({ files: layerMapping(spec) })),
      ...(opts.platform ? { platform: opts.platform } : {}),
      ...(opts.keepModes ? { keepModes: true } : {}),
      ...(opts.compression ? { compression: opts.compression as 'gzip' | 'zstd' } : {}),
      sourceDateEpoch: resolveEpoch(undefined, process.env),
      ...Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)),
      onLog: opts.json ? undefined : (line) => process.stderr.write(`${line}\n`),
    });
    await publishBuilt(target, layout, name, built, opts);
    return EXIT.ok;
  } finally {
    publisher?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

interface Inspected {
  digest: string;
  mediaType: string;
  manifest: ImageManifest | ImageIndex;
  config?: ImageConfig;
}

type Document =
  | { kind: 'manifest'; manifest: ImageManifest; digest: string; mediaType: string }
  | { kind: 'index'; index: ImageIndex; digest: string; mediaType: string };

/** Where inspect reads documents from: a layout or a registry, read the same way. */
interface DocumentSource {
  /** The document the reference names. */
  root(): Promise<Document>;
  /** A manifest an index lists. */
  child(descriptor: Descriptor): Promise<Document>;
  config(descriptor: Descriptor): Promise<ImageConfig>;
}

async function layoutSource(dir: string, ref: string | undefined): Promise<DocumentSource> {
  const [{ OciLayout }, { isIndexMediaType }] = await Promise.all([
    import('../oci/layout.js'),
    import('../oci/media-types.js'),
  ]);
  const layout = await OciLayout.open(resolve(dir));
  const read = async (descriptor: Descriptor): Promise<Document> => {
    const head = { digest: descriptor.digest, mediaType: descriptor.mediaType };
    return isIndexMediaType(descriptor.mediaType)
      ? { kind: 'index', index: await layout.readImageIndex(descriptor), ...head }
      : { kind: 'manifest', manifest: await layout.readManifest(descriptor), ...head };
  };
  return {
    root: async () => read(await layout.resolve(ref)),
    child: read,
    config: (descriptor) => layout.readConfig(descriptor),
  };
}

async function registrySource(
  ref: RegistryReference,
  opts: { insecure?: boolean; creds?: string },
): Promise<DocumentSource> {
  const [{ RegistryClient }, { credentialsFromString }, { parseManifestOrIndex }, { parseImageConfig }] =
    await Promise.all([
      import('../registry/client.js'),
      import('../registry/auth/credentials.js'),
      import('../oci/manifest.js'),
      import('../oci/config.js'),
    ]);
  const client = new RegistryClient(ref.registry, {
    env: process.env,
    ...(opts.insecure ? { insecure: true } : {}),
    ...(opts.creds ? { credentials: credentialsFromString(opts.creds) } : {}),
  });
  const where = `${ref.registry}/${ref.repository}`;
  const read = async (reference: string): Promise<Document> => {
    const fetched = await client.getManifest(ref.repository, reference);
    const head = { digest: fetched.digest, mediaType: fetched.mediaType };
    const document = parseManifestOrIndex(fetched.bytes, `${where}@${fetched.digest}`, fetched.mediaType);
    return document.kind === 'index'
      ? { kind: 'index', index: document.index, ...head }
      : { kind: 'manifest', manifest: document.manifest, ...head };
  };
  return {
    root: () => read(ref.digest ?? ref.tag ?? 'latest'),
    child: (descriptor) => read(descriptor.digest),
    config: async (descriptor) => {
      const blob = await client.fetchBlob(ref.repository, descriptor.digest);
      return parseImageConfig(await blob.bytes(4 * 1024 * 1024), `${where}@${descriptor.digest}`);
    },
  };
}

/**
 * The image a reference names, whatever its source: an index (OCI or Docker manifest list) resolves to this
 * machine's platform (or `--platform`'s), unless `--platform all` asks for the index itself.
 */
async function inspectSource(source: DocumentSource, where: string, platform?: string): Promise<Inspected> {
  const [{ parsePlatform, hostPlatform, formatPlatform }, { selectPlatform }] = await Promise.all([
    import('../oci/platform.js'),
    import('../oci/manifest.js'),
  ]);
  let document = await source.root();
  if (document.kind === 'index' && platform !== 'all') {
    const wanted = platform ? parsePlatform(platform) : hostPlatform();
    const chosen = selectPlatform(document.index, wanted);
    if (!chosen) {
      const offered = document.index.manifests.map((m) => (m.platform ? formatPlatform(m.platform) : '?'));
      throw new VnfpipeError('OCI_NOT_FOUND', `no image for ${formatPlatform(wanted)} in the index`, {
        where,
        hint: `it offers ${offered.join(', ') || 'nothing'}; pass --platform all to see the index`,
      });
    }
    document = await source.child(chosen);
  }
  const head = { digest: document.digest, mediaType: document.mediaType };
  if (document.kind === 'index') return { ...head, manifest: document.index };
  return { ...head, manifest: document.manifest, config: await source.config(document.manifest.config) };
}

/** Nanoseconds (Docker's unit for healthcheck times) as `30s`, `1m30s`. */
function duration(ns: number | undefined): string | undefined {
  if (!ns) return undefined;
  const seconds = ns / 1e9;
  const minutes = Math.floor(seconds / 60);
  const rest = seconds - minutes * 60;
  return minutes ? `${minutes}m${rest ? `${rest}s` : ''}` : `${seconds}s`;
}

/** The config as text: every runtime setting, then the history. */
function configLines(config: ImageConfig | undefined): string[] {
  const runtime = config?.config ?? {};
  const keys = (set: Record<string, object> | undefined) => Object.keys(set ?? {}).join(' ') || '(none)';
  const lines = [
    `platform    ${config?.os}/${config?.architecture}${config?.variant ? `/${config.variant}` : ''}`,
    `created     ${config?.created ?? '(unknown)'}`,
    `entrypoint  ${JSON.stringify(runtime.Entrypoint ?? null)}`,
    `cmd         ${JSON.stringify(runtime.Cmd ?? null)}`,
    `user        ${runtime.User || '(root)'}`,
    `workdir     ${runtime.WorkingDir || '/'}`,
    `env         ${(runtime.Env ?? []).join(' ')}`,
    `ports       ${keys(runtime.ExposedPorts)}`,
    `volumes     ${keys(runtime.Volumes)}`,
    `stopsignal  ${runtime.StopSignal || '(default)'}`,
  ];
  if (runtime.Shell) lines.push(`shell       ${JSON.stringify(runtime.Shell)}`);
  if (runtime.OnBuild?.length) lines.push(`onbuild     ${JSON.stringify(runtime.OnBuild)}`);
  const health = runtime.Healthcheck;
  if (health?.Test) {
    const timing = [
      ['interval', duration(health.Interval)],
      ['timeout', duration(health.Timeout)],
      ['start period', duration(health.StartPeriod)],
      ['retries', health.Retries ? String(health.Retries) : undefined],
    ]
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => `${name} ${value}`);
    lines.push(`healthcheck ${JSON.stringify(health.Test)}${timing.length ? ` (${timing.join(', ')})` : ''}`);
  } else lines.push('healthcheck (none)');
  const labels = Object.entries(runtime.Labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  lines.push(labels.length ? 'labels:' : 'labels      (none)');
  for (const [key, value] of labels) lines.push(`  ${key}=${value}`);
  lines.push('history:');
  for (const entry of config?.history ?? []) {
    const what = entry.created_by ?? entry.comment ?? '';
    lines.push(`  ${entry.created ?? '-'}  ${what}${entry.empty_layer ? '  (no layer)' : ''}`);
  }
  return lines;
}

export async function imageInspectCommand(
  ref: string,
  opts: { json?: boolean; platform?: string; insecure?: boolean; creds?: string },
): Promise<number> {
  const [{ parseReference }, { asLayoutReference }] = await Promise.all([
    import('../oci/reference.js'),
    import('../oci/docker-archive.js'),
  ]);
  const parsed = parseReference(await asLayoutReference(ref));
  const source =
    parsed.transport === 'oci'
      ? await layoutSource(parsed.dir, parsed.ref)
      : await registrySource(parsed, opts);
  const info = await inspectSource(source, ref, opts.platform);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
    return EXIT.ok;
  }
  const lines = [`${ref}`, `digest      ${info.digest}`, `mediaType   ${info.mediaType}`];
  if ('manifests' in info.manifest) {
    const { formatPlatform } = await import('../oci/platform.js');
    lines.push('platforms:');
    for (const m of info.manifest.manifests)
      lines.push(`  ${m.platform ? formatPlatform(m.platform) : '?'}  ${m.digest}`);
    process.stdout.write(`${lines.join('\n')}\n`);
    return EXIT.ok;
  }
  lines.push(...configLines(info.config), 'layers:');
  process.stdout.write(`${lines.join('\n')}\n`);
  const rows = [['  DIGEST', 'SIZE', 'MEDIA TYPE']];
  for (const layer of info.manifest.layers)
    rows.push([`  ${layer.digest}`, String(layer.size), layer.mediaType]);
  printTable(rows);
  return EXIT.ok;
}

export async function imageLsCommand(ref: string, opts: { json?: boolean }): Promise<number> {
  const { parseReference } = await import('../oci/reference.js');
  const parsed = parseReference(ref);
  if (parsed.transport !== 'oci')
    throw new VnfpipeError('USAGE', 'image ls lists an OCI layout: oci:<dir>', { where: ref });
  const { OciLayout } = await import('../oci/layout.js');
  const layout = await OciLayout.open(resolve(parsed.dir));
  const refs = await layout.listRefs();
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(refs, null, 2)}\n`);
    return EXIT.ok;
  }
  const rows = [['REF', 'DIGEST', 'SIZE', 'MEDIA TYPE']];
  for (const entry of refs)
    rows.push([
      entry.name,
      entry.descriptor.digest,
      String(entry.descriptor.size),
      entry.descriptor.mediaType,
    ]);
  printTable(rows);
  return EXIT.ok;
}

export async function imageGcCommand(
  ref: string,
  opts: { dryRun?: boolean; json?: boolean },
): Promise<number> {
  const { parseReference } = await import('../oci/reference.js');
  const parsed = parseReference(ref);
  if (parsed.transport !== 'oci' || parsed.ref !== undefined)
    throw new VnfpipeError('USAGE', 'image gc cleans a whole OCI layout: oci:<dir>', { where: ref });
  const { OciLayout } = await import('../oci/layout.js');
  const layout = await OciLayout.open(resolve(parsed.dir), {
    onLog: opts.json ? undefined : (line) => process.stderr.write(`${line}\n`),
  });
  const result = await layout.gc({ dryRun: opts.dryRun ?? false });
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return EXIT.ok;
  }
  const verb = result.dryRun ? 'would remove' : 'removed';
  const lines = [
    ...result.removed.map((digest) => `${verb} blob ${digest}`),
    ...result.stale.map(
      (entry) =>
        `${verb} ${entry.path} (${entry.bytes} bytes${entry.pid ? `, left by PID ${entry.pid}` : ''})`,
    ),
    `${result.dryRun ? 'would free' : 'freed'} ${result.freedBytes} bytes: ${result.removed.length} unreferenced blob(s), ${result.stale.length} stale temp/staging entr${result.stale.length === 1 ? 'y' : 'ies'}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.ok;
}

/**
 * After a build into `layout`: pushes it when the tag names a registry, then prints the reference (or, with
 * `--json`, one result object). Shared by the native and the Dockerfile build commands.
 */
export async function publishBuilt(
  target: ReturnType<typeof import('../oci/reference.js').parseReference>,
  layout: string,
  name: string,
  built: { digest: string; mediaType: string },
  opts: { tag: string; json?: boolean; insecure?: boolean; creds?: string },
  jsonExtra: Record<string, unknown> = {},
): Promise<void> {
  let reference = `${opts.tag}@${built.digest}`;
  if (target.transport === 'registry') {
    const { copyImage } = await import('../registry/copy.js');
    const pushed = await copyImage({ transport: 'oci', dir: layout, ref: name }, target, {
      registries: { [target.registry]: await registryClientOptions(opts) },
    });
    reference = pushed.reference;
  }
  process.stdout.write(
    opts.json
      ? `${JSON.stringify({ ...jsonExtra, reference, digest: built.digest, mediaType: built.mediaType })}\n`
      : `${reference}\n`,
  );
}

/** Client settings of `--insecure` and `--creds` (else the environment and the docker config). */
async function registryClientOptions(opts: { insecure?: boolean; creds?: string }) {
  const { credentialsFromString } = await import('../registry/auth/credentials.js');
  return {
    env: process.env,
    ...(opts.insecure ? { insecure: true } : {}),
    ...(opts.creds ? { credentials: credentialsFromString(opts.creds) } : {}),
  };
}
