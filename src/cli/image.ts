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
import { printTable } from './table.js';

export interface ImageBuildCommandOptions {
  from: string;
  layer?: string[];
  entrypoint?: string;
  cmd?: string;
  env?: string[];
  workdir?: string;
  user?: string;
  label?: string[];
  platform?: string;
  keepModes?: boolean;
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
  const [{ buildImage, resolveEpoch }, { parseReference }] = await Promise.all([
    import('../image/index.js'),
    import('../oci/reference.js'),
  ]);
  const target = parseReference(opts.tag);
  const resolvers = [];
  if (!opts.from.startsWith('oci:') && !opts.from.startsWith('docker-archive:') && opts.from !== 'scratch') {
    const { createRegistryBaseResolver } = await import('../registry/base.js');
    resolvers.push(
      createRegistryBaseResolver({ env: process.env, ...(opts.insecure ? { insecure: true } : {}) }),
    );
  }
  // A registry destination is built into a scratch layout, then pushed.
  const scratch =
    target.transport === 'registry' ? await mkdtemp(join(tmpdir(), 'vnfpipe-image-')) : undefined;
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
      context: process.cwd(),
      layout,
      name,
      cacheDir: resolve('.vnfpipe', 'cache', 'layers'),
      from: opts.from,
      resolvers,
      layers: (opts.layer ?? []).map((spec) => ({ files: layerMapping(spec) })),
      ...(opts.platform ? { platform: opts.platform } : {}),
      ...(opts.keepModes ? { keepModes: true } : {}),
      sourceDateEpoch: resolveEpoch(undefined, process.env),
      ...Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)),
      onLog: opts.json ? undefined : (line) => process.stderr.write(`${line}\n`),
    });
    let reference = `${opts.tag}@${built.digest}`;
    if (target.transport === 'registry') {
      const [{ copyImage }, { credentialsFromString }] = await Promise.all([
        import('../registry/copy.js'),
        import('../registry/auth/credentials.js'),
      ]);
      const pushed = await copyImage({ transport: 'oci', dir: layout, ref: name }, target, {
        registries: {
          [target.registry]: {
            env: process.env,
            ...(opts.insecure ? { insecure: true } : {}),
            ...(opts.creds ? { credentials: credentialsFromString(opts.creds) } : {}),
          },
        },
      });
      reference = pushed.reference;
    }
    process.stdout.write(
      opts.json
        ? `${JSON.stringify({ reference, digest: built.digest, mediaType: built.mediaType })}\n`
        : `${reference}\n`,
    );
    return EXIT.ok;
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

interface Inspected {
  digest: string;
  mediaType: string;
  manifest: ImageManifest | ImageIndex;
  config?: ImageConfig;
}

async function inspectLayout(
  dir: string,
  ref: string | undefined,
  platform: string | undefined,
): Promise<Inspected> {
  const [{ OciLayout }, { parsePlatform, hostPlatform }, { selectPlatform }] = await Promise.all([
    import('../oci/layout.js'),
    import('../oci/platform.js'),
    import('../oci/manifest.js'),
  ]);
  const layout = await OciLayout.open(resolve(dir));
  let descriptor: Descriptor = await layout.resolve(ref);
  if (descriptor.mediaType.includes('index') && platform !== 'all') {
    const index = await layout.readImageIndex(descriptor);
    const wanted = platform ? parsePlatform(platform) : hostPlatform();
    const chosen = selectPlatform(index, wanted);
    if (!chosen) {
      throw new VnfpipeError('OCI_NOT_FOUND', `no image for ${platform ?? 'this platform'} in the index`, {
        where: `oci:${dir}${ref ? `:${ref}` : ''}`,
        hint: 'pass --platform all to see the index',
      });
    }
    descriptor = chosen;
  }
  if (descriptor.mediaType.includes('index')) {
    return {
      digest: descriptor.digest,
      mediaType: descriptor.mediaType,
      manifest: await layout.readImageIndex(descriptor),
    };
  }
  const manifest = await layout.readManifest(descriptor);
  return {
    digest: descriptor.digest,
    mediaType: descriptor.mediaType,
    manifest,
    config: await layout.readConfig(manifest.config),
  };
}

async function inspectRegistry(
  ref: RegistryReference,
  opts: { insecure?: boolean; creds?: string },
): Promise<Inspected> {
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
  const fetched = await client.getManifest(ref.repository, ref.digest ?? ref.tag ?? 'latest');
  const document = parseManifestOrIndex(fetched.bytes, where);
  if (document.kind === 'index')
    return { digest: fetched.digest, mediaType: fetched.mediaType, manifest: document.index };
  const blob = await client.fetchBlob(ref.repository, document.manifest.config.digest);
  const config = parseImageConfig(await blob.bytes(4 * 1024 * 1024), `${where} config`);
  return { digest: fetched.digest, mediaType: fetched.mediaType, manifest: document.manifest, config };
}

export async function imageInspectCommand(
  ref: string,
  opts: { json?: boolean; platform?: string; insecure?: boolean; creds?: string },
): Promise<number> {
  const { parseReference } = await import('../oci/reference.js');
  const parsed = parseReference(ref);
  const info =
    parsed.transport === 'oci'
      ? await inspectLayout(parsed.dir, parsed.ref, opts.platform)
      : await inspectRegistry(parsed, opts);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
    return EXIT.ok;
  }
  const lines = [`${ref}`, `digest     ${info.digest}`, `mediaType  ${info.mediaType}`];
  if ('manifests' in info.manifest) {
    lines.push('platforms:');
    for (const m of info.manifest.manifests) {
      lines.push(
        `  ${m.platform ? `${m.platform.os}/${m.platform.architecture}${m.platform.variant ? `/${m.platform.variant}` : ''}` : '?'}  ${m.digest}`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    return EXIT.ok;
  }
  const config = info.config?.config ?? {};
  lines.push(
    `platform   ${info.config?.os}/${info.config?.architecture}`,
    `entrypoint ${JSON.stringify(config.Entrypoint ?? null)}`,
    `cmd        ${JSON.stringify(config.Cmd ?? null)}`,
    `user       ${config.User || '(root)'}`,
    `workdir    ${config.WorkingDir || '/'}`,
    `env        ${(config.Env ?? []).join(' ')}`,
    'layers:',
  );
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
  const layout = await OciLayout.open(resolve(parsed.dir));
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
