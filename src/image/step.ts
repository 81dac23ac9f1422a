/**
 * The `image` step kinds for pipelines: `image.build({...})` and the layer helpers `image.files()`,
 * `image.content()`, `image.delete()`, `image.layer()`. This module only describes steps; the builder is
 * loaded when a step runs, so `vnfpipe plan` stays fast.
 */
import { VnfpipeError } from '../errors.js';
import {
  type Input,
  OUTPUT_REF,
  type OutputRef,
  type StepContext,
  type StepSpec,
} from '../pipeline/model.js';
import type { SecretRef } from '../pipeline/secret.js';
import { dockerfileStep } from './dockerfile-step.js';
import { layoutImageProblem } from './layout-check.js';
import type { FileMapping, ImageConfigSpec, ImageRef, InlineFile, LayerSpec, Ownership } from './types.js';

/** A layer as a pipeline writes it: a LayerSpec plus outputs of other steps it waits for. */
export interface LayerInput extends LayerSpec {
  /** Outputs this layer's files come from (e.g. a compile step's `out`): wires the dependency. */
  after?: Array<Input<unknown>>;
  /** A command run in the image so far, built by BuildKit (see `image.run`). */
  run?: RunLayerInput;
}

/** Mounts of a run layer; a secret mount's value comes from `secret('NAME')`. */
export type RunMountInput =
  | { type: 'secret'; id: string; value: SecretRef; target?: string; required?: boolean }
  | { type: 'cache'; target: string; id?: string; sharing?: 'shared' | 'private' | 'locked' }
  | { type: 'tmpfs'; target: string };

export interface RunLayerInput {
  command: string | string[];
  mounts?: RunMountInput[];
  env?: Record<string, string>;
  workdir?: string;
  user?: string;
}

/** A base image: `scratch`, `oci:<dir>[:ref]`, `docker-archive:<file>[:ref]`, or another image step's output. */
export type BaseInput = Input<string> | OutputRef<{ ref: string }>;

export interface ImagePlatformInput extends ImageConfigSpec {
  platform: string;
  from?: BaseInput;
  layers?: LayerInput[];
}

export interface ImageBuildOptions extends ImageConfigSpec {
  from?: BaseInput;
  layers?: LayerInput[];
  /** Ref name in the layout (default: the step id). */
  name?: string;
  /** OCI layout directory, relative to the project (default `<stateDir>/oci`). */
  layout?: string;
  /** Directory relative layer sources are resolved against (default: the project directory). */
  context?: string;
  /** Target platform, `os/arch[/variant]` (default: this machine's). */
  platform?: string;
  /** One image per platform and an index over them. */
  platforms?: ImagePlatformInput[];
  /** `gzip` (default, readable by every runtime) or `zstd` (opt-in `tar+zstd` layers, Docker 23+). */
  compression?: 'gzip' | 'zstd';
  /** gzip level 0–9 (default 1), zstd 1–19 (default 3). */
  compressionLevel?: number;
  /**
   * Keep host files' permission bits (default false: 0755 for directories and executables, 0644 for the
   * rest, so the umask of a checkout does not change the digest). Also settable per layer.
   */
  keepModes?: boolean;
  /** Reuse layers whose inputs are unchanged (default true). */
  cache?: boolean;
  workers?: number;
  /**
   * The registry repository a later push step sends this image to (`host/repo`): layers are streamed into
   * it while they are compressed, so that push finds them there and only writes the manifest. Credentials
   * as for push (a secret with `user:password` or a token; else VNFPIPE_REGISTRY_* and the docker config).
   * A failed upload never fails the build: the push sends what is missing.
   */
  publishTo?: string | { to: string; auth?: SecretRef; insecure?: boolean; caFile?: string };
}

function isRef(value: unknown): value is OutputRef<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && OUTPUT_REF in value;
}

type FilesMap = Record<string, string> | FileMapping[];
type LayerOptions = Omit<LayerSpec, 'files'>;

function files(mapping: FilesMap, options?: LayerOptions): LayerInput;
function files(
  after: Input<unknown> | Array<Input<unknown>>,
  mapping: FilesMap,
  options?: LayerOptions,
): LayerInput;
function files(a: unknown, b?: unknown, c?: unknown): LayerInput {
  // Mappings never contain output references; a first argument that does is the `after` form.
  if (isRef(a) || (Array.isArray(a) && a.some(isRef))) {
    const after = Array.isArray(a) ? (a as Array<Input<unknown>>) : [a as Input<unknown>];
    return { ...(c as LayerOptions | undefined), files: b as FilesMap, after };
  }
  return { ...(b as LayerOptions | undefined), files: a as FilesMap };
}

/**
 * Layer helpers and the build step factories: `image.build` (the native, daemonless builder) and
 * `image.dockerfile` (BuildKit); both output an `ImageRef` in the project's OCI layout.
 *
 * @example
 * ```ts
 * const img = p.step('image', image.build({
 *   from: 'scratch',
 *   layers: [image.files(bin.out, { 'out/vfw': '/usr/local/bin/vfw' }, { mode: 0o755 })],
 *   entrypoint: ['/usr/local/bin/vfw'],
 * }));
 * ```
 * @see `vnfpipe image build` for the same builder outside a pipeline.
 */
export const image = {
  /** Host files into the image: `image.files({ 'out/vfw': '/usr/local/bin/vfw' })`, optionally after a step's output. */
  files,
  /** Files generated by the pipeline: `image.content({ '/etc/vfw.conf': text })`. */
  content(
    contents: Record<string, string | Uint8Array | InlineFile>,
    options: Ownership & { name?: string } = {},
  ): LayerInput {
    return { ...options, content: contents };
  },
  /** Deletes base paths (whiteouts); `opaque` hides a base directory's content. */
  delete(paths: string[], options: { opaque?: string[]; name?: string } = {}): LayerInput {
    return { ...options, delete: paths };
  },
  /**
   * A command run in the image built so far, like a Dockerfile RUN: `image.run('apt-get install -y frr',
   * { mounts: [{ type: 'cache', target: '/var/cache/apt' }] })`. Built by BuildKit (BUILDKIT_HOST, default
   * the Docker engine's); file layers before and after it stay with the native builder.
   */
  run(
    command: string | string[],
    options: Omit<RunLayerInput, 'command'> & { name?: string } = {},
  ): LayerInput {
    const { name, ...rest } = options;
    return { ...(name ? { name } : {}), run: { command, ...rest } };
  },
  /** Any layer, spelled out. */
  layer(spec: LayerInput): LayerInput {
    return spec;
  },
  /** Builds a Dockerfile with BuildKit into an OCI layout; the same ImageRef output as `build`. */
  dockerfile: dockerfileStep,
  /** Builds an image with the native builder into an OCI layout; the output is an ImageRef. */
  build(options: ImageBuildOptions): StepSpec<ImageRef, ImageBuildOptions> {
    return {
      kind: 'build',
      stage: 'build',
      options,
      validate: validateBuildOptions,
      cacheInputs: (opts) => {
        const files = sourceGlobs(opts as unknown as ResolvedBuild);
        return files.length > 0 ? { files } : undefined;
      },
      // A cached build counts only while its manifest (or index) is still in the layout (gc, a fresh CI
      // checkout that restored the cache but not the layout), with every blob it names, under its name.
      cacheOutputs: (output) => [`${output.layout}/blobs/sha256/${output.digest.slice('sha256:'.length)}`],
      cacheValid: async (output, _opts, ctx) => layoutImageProblem(ctx.cwd, output),
      run: (ctx, opts) => runBuild(ctx, opts as unknown as ResolvedBuild),
    };
  },
};

function invalidOption(option: string, message: string): VnfpipeError {
  return new VnfpipeError('PIPELINE_INVALID', `image.build: '${option}' ${message}`, { where: option });
}

function validateLayers(layers: unknown, where: string): void {
  if (layers === undefined) return;
  if (!Array.isArray(layers))
    throw invalidOption(where, 'must be an array of layers (image.files(), image.content(), …)');
  layers.forEach((layer, i) => {
    if (typeof layer !== 'object' || layer === null) throw invalidOption(`${where}[${i}]`, 'must be a layer');
    const files = (layer as LayerSpec).files;
    if (files !== undefined && (typeof files !== 'object' || files === null)) {
      throw invalidOption(`${where}[${i}].files`, 'must map host paths to image paths');
    }
    const run = (layer as LayerInput).run;
    if (run !== undefined) {
      const command = run?.command;
      const valid =
        (typeof command === 'string' && command.trim() !== '') ||
        (Array.isArray(command) && command.length > 0 && command.every((a) => typeof a === 'string'));
      if (!valid) throw invalidOption(`${where}[${i}].run`, 'must be a command line or an argument vector');
    }
  });
}

function validateBuildOptions(options: ImageBuildOptions): void {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'must be an object');
  validateLayers(options.layers, 'layers');
  if (options.name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.\-:/+@]*$/.test(options.name)) {
    throw invalidOption('name', 'may hold letters, digits and . _ - : / + @');
  }
  if (options.compression !== undefined && options.compression !== 'gzip' && options.compression !== 'zstd') {
    throw invalidOption('compression', "must be 'gzip' or 'zstd'");
  }
  const level = options.compressionLevel;
  const maxLevel = options.compression === 'zstd' ? 19 : 9;
  const minLevel = options.compression === 'zstd' ? 1 : 0;
  if (level !== undefined && (!Number.isInteger(level) || level < minLevel || level > maxLevel)) {
    throw invalidOption('compressionLevel', `must be an integer from ${minLevel} to ${maxLevel}`);
  }
  for (const key of ['entrypoint', 'cmd'] as const) {
    const value = options[key];
    if (value !== undefined && (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))) {
      throw invalidOption(key, 'must be an array of strings');
    }
  }
  const platformRe = /^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/;
  if (options.platform !== undefined && !platformRe.test(options.platform)) {
    throw invalidOption('platform', 'must look like linux/amd64 or linux/arm64/v8');
  }
  options.platforms?.forEach((p, i) => {
    if (!platformRe.test(p.platform))
      throw invalidOption(`platforms[${i}].platform`, 'must look like linux/amd64');
    validateLayers(p.layers, `platforms[${i}].layers`);
  });
}

/** The options as the step receives them: references resolved. */
type ResolvedBuild = Omit<ImageBuildOptions, 'from' | 'platforms' | 'publishTo'> & {
  publishTo?: ResolvedPublish;
  from?: string | { ref: string; digest?: string };
  platforms?: Array<Omit<ImagePlatformInput, 'from'> & { from?: string | { ref: string; digest?: string } }>;
};

function baseName(from: string | { ref: string } | undefined): string | undefined {
  if (from === undefined) return undefined;
  return typeof from === 'string' ? from : from.ref;
}

/**
 * A base that is an image in a layout given with its digest (another build step's output): taken by that
 * digest (`oci:<dir>:sha256:…`), so what the build uses is what the fingerprint names, whatever the name
 * points at by then.
 */
function pinnedBase(from: string | { ref: string; digest?: string } | undefined): string | undefined {
  if (from === undefined || typeof from === 'string') return undefined;
  if (!from.ref?.startsWith('oci:') || !/^sha256:[0-9a-f]{64}$/.test(from.digest ?? '')) return undefined;
  const dir = from.ref.slice(4).split(':')[0];
  return dir ? `oci:${dir}:${from.digest}` : undefined;
}

/** Cache-input globs: each mapping's source (as file or tree), excludes, ignore files, base layout index. */
function sourceGlobs(options: ResolvedBuild): string[] {
  const globs = new Set<string>();
  const context = options.context ? options.context.replace(/\/+$/, '') : '';
  const join = (...parts: string[]) => parts.filter((p) => p !== '' && p !== '.').join('/');
  const layers = [...(options.layers ?? []), ...(options.platforms ?? []).flatMap((p) => p.layers ?? [])];
  for (const layer of layers) {
    const base = join(context, layer.context ?? '');
    const mappings = Array.isArray(layer.files)
      ? layer.files
      : Object.entries(layer.files ?? {}).map(([from, to]) => ({ from, to }) as FileMapping);
    for (const mapping of mappings) {
      const from = join(base, mapping.from.replace(/\/+$/, ''));
      globs.add(from || '**');
      if (from) globs.add(`${from}/**`);
      for (const pattern of [...(layer.exclude ?? []), ...(mapping.exclude ?? [])]) {
        if (!pattern.startsWith('!')) globs.add(`!${join(from, pattern.replace(/^\/+/, ''))}`);
      }
    }
    if (layer.ignoreFile) globs.add(join(base, layer.ignoreFile));
  }
  for (const from of [options.from, ...(options.platforms ?? []).map((p) => p.from)]) {
    // Another step's image, pinned by digest: that digest is part of the fingerprint already (and the build
    // takes the base by it). The layout's index.json is not an input then: this build writes it too.
    if (pinnedBase(from)) continue;
    const name = baseName(from);
    if (name?.startsWith('oci:')) {
      const dir = name.slice(4).split(':')[0] ?? '';
      if (dir && !dir.startsWith('/')) globs.add(`${dir.replace(/\/+$/, '')}/index.json`);
    } else if (name?.startsWith('docker-archive:')) {
      // A new `docker save` into the same file is a new base.
      const file = name.slice('docker-archive:'.length).split(':')[0] ?? '';
      if (file && !file.startsWith('/')) globs.add(file);
    }
  }
  return [...globs];
}

function stripAfter(layers: LayerInput[] | undefined): LayerSpec[] | undefined {
  return layers?.map(({ after: _after, ...layer }) => layer);
}

async function runBuild(ctx: StepContext, options: ResolvedBuild): Promise<ImageRef> {
  const [{ buildImage, resolveEpoch }, { join, resolve, relative, isAbsolute }] = await Promise.all([
    import('./builder.js'),
    import('node:path'),
  ]);
  const {
    from,
    layers,
    name,
    layout,
    context,
    platform,
    platforms,
    compression,
    compressionLevel,
    cache,
    workers,
    publishTo,
    ...config
  } = options;
  const bases = [from, ...(platforms ?? []).map((p) => p.from)].map(baseName);
  // Registry bases come through the registry client, loaded only when a pipeline uses one; the resolver
  // is this step's own, with this step's environment (credentials).
  const resolvers = bases.some((base) => base !== undefined && isRegistryBase(base))
    ? [(await import('../registry/base.js')).createRegistryBaseResolver({ env: ctx.env })]
    : [];
  const reported = new Map<string, number>();
  const publisher = publishTo ? await publisherFor(ctx, publishTo) : undefined;
  // What both builders take: the native one, and BuildKit when a layer runs a command.
  const common = {
    ...config,
    context: resolve(ctx.cwd, context ?? '.'),
    layout: layout ? resolve(ctx.cwd, layout) : join(ctx.stateDir, 'oci'),
    cacheDir: cache === false ? undefined : join(ctx.stateDir, 'cache', 'layers'),
    name: name ?? ctx.stepId,
    from: anchored(pinnedBase(from) ?? baseName(from), ctx.cwd, resolve),
    platform,
    compression,
    compressionLevel,
    workers,
    sourceDateEpoch: resolveEpoch(undefined, ctx.env),
    resolvers,
    signal: ctx.signal,
    onLog: (line: string) => ctx.log(line, 'info'),
  };
  const result = layers?.some((layer) => layer.run !== undefined)
    ? await (await import('./run-build.js')).buildWithRuns({
        ...common,
        layers: stripAfter(layers) as never,
        processEnv: ctx.env,
      })
    : await buildImage({
        ...common,
        ...(publisher ? { publisher } : {}),
        layers: stripAfter(layers),
        platforms: platforms?.map((p) => ({
          ...p,
          from: anchored(pinnedBase(p.from) ?? baseName(p.from), ctx.cwd, resolve),
          layers: stripAfter(p.layers),
        })),
        onProgress: (update) => {
          // One update per 8 MiB and at the end: enough for a progress bar, cheap for the event stream.
          const last = reported.get(update.label) ?? -Infinity;
          if (update.current - last < 8 * 1024 * 1024 && update.current !== update.total) return;
          reported.set(update.label, update.current);
          ctx.progress(update);
        },
      });
  if (publisher) {
    publisher.close();
    const c = publisher.counts;
    ctx.log(
      `published to ${typeof publishTo === 'string' ? publishTo : publishTo?.to}: ${c.streamed} streamed, ${c.resumed} resent, ${c.uploaded} uploaded, ${c.present} present, ${c.failed} failed`,
      'info',
    );
  }
  ctx.log(`image ${result.ref}@${result.digest}`, 'info');
  return projectRelative(result, ctx.cwd, relative, isAbsolute);
}

type ResolvedPublish = string | { to: string; auth?: string; insecure?: boolean; caFile?: string };

async function publisherFor(ctx: StepContext, publish: ResolvedPublish) {
  const [{ parseRegistryReference }, { registryPublisher }, { credentialsFromString }, { resolve }] =
    await Promise.all([
      import('../oci/reference.js'),
      import('../registry/publish.js'),
      import('../registry/auth/credentials.js'),
      import('node:path'),
    ]);
  const target = typeof publish === 'string' ? { to: publish } : publish;
  if (target.auth) ctx.addSecret(target.auth);
  return registryPublisher(parseRegistryReference(target.to), {
    client: {
      env: ctx.env,
      signal: ctx.signal,
      ...(target.auth ? { credentials: credentialsFromString(target.auth) } : {}),
      ...(target.insecure ? { insecure: true } : {}),
      ...(target.caFile ? { caFile: resolve(ctx.cwd, target.caFile) } : {}),
    },
    onLog: (line) => ctx.log(line, 'warn'),
  });
}

function isRegistryBase(base: string): boolean {
  return base !== 'scratch' && !base.startsWith('oci:') && !base.startsWith('docker-archive:');
}

/** A relative `oci:` base (another image step's output) is relative to the project, not to the build context. */
function anchored(
  base: string | undefined,
  cwd: string,
  resolve: (...paths: string[]) => string,
): string | undefined {
  if (base?.startsWith('docker-archive:') && !base.startsWith('docker-archive:/'))
    return `docker-archive:${resolve(cwd, base.slice('docker-archive:'.length))}`;
  if (!base?.startsWith('oci:') || base.startsWith('oci:/')) return base;
  return `oci:${resolve(cwd, base.slice(4))}`;
}

/**
 * Outputs travel to later CI jobs, which check the project out at other paths: a layout inside the project
 * is named relative to it (consumers resolve `oci:` refs against the project directory).
 */
function projectRelative(
  result: ImageRef,
  cwd: string,
  relative: (from: string, to: string) => string,
  isAbsolute: (path: string) => boolean,
): ImageRef {
  const rel = relative(cwd, result.layout);
  if (rel.startsWith('..') || isAbsolute(rel)) return result;
  const layout = rel === '' ? '.' : rel;
  return { ...result, layout, ref: result.ref.replace(`oci:${result.layout}:`, `oci:${layout}:`) };
}
