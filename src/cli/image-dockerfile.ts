/**
 * `vnfpipe image build --dockerfile …`: a Dockerfile built by BuildKit through our own client. Progress is
 * BuildKit's vertexes (state, timing) and RUN output on stderr, or NDJSON events on stdout with `--json`.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseBuildkitAddress } from '../buildkit/address.js';
import type { SolveListener } from '../buildkit/solve.js';
import { EXIT, VnfpipeError } from '../errors.js';

export interface DockerfileCommandOptions {
  dockerfile: string;
  context?: string;
  buildArg?: string[];
  target?: string;
  secret?: string[];
  /** commander's `--no-cache`. */
  cache?: boolean;
  label?: string[];
  tag: string;
  json?: boolean;
  buildkitHost?: string;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  creds?: string;
  insecure?: boolean;
}

function keyValues(values: string[] | undefined, option: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of values ?? []) {
    const at = item.indexOf('=');
    if (at <= 0) throw new VnfpipeError('USAGE', `${option} '${item}' is not KEY=VALUE`);
    out[item.slice(0, at)] = item.slice(at + 1);
  }
  return out;
}

/** `id=ID,src=FILE` or `id=ID,env=VAR`; the value is read here and never echoed. */
export async function readSecretSpec(
  spec: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<[string, Uint8Array]> {
  const fields = new Map<string, string>();
  for (const part of spec.split(',')) {
    const at = part.indexOf('=');
    if (at <= 0) throw malformed(spec);
    fields.set(part.slice(0, at).trim(), part.slice(at + 1));
  }
  const id = fields.get('id');
  const src = fields.get('src') ?? fields.get('source');
  const variable = fields.get('env');
  const known = new Set(['id', 'src', 'source', 'env']);
  if (
    !id ||
    (src === undefined) === (variable === undefined) ||
    [...fields.keys()].some((k) => !known.has(k))
  )
    throw malformed(spec);
  if (variable !== undefined) {
    const value = env[variable];
    if (value === undefined) {
      throw new VnfpipeError(
        'SECRET_MISSING',
        `secret '${id}': environment variable ${variable} is not set`,
        {
          where: '--secret',
        },
      );
    }
    return [id, Buffer.from(value)];
  }
  const data = await readFile(resolve(src!)).catch((error: unknown) => {
    throw new VnfpipeError('SECRET_MISSING', `secret '${id}': cannot read its file`, {
      where: resolve(src!),
      cause: error,
    });
  });
  return [id, data];
}

function malformed(spec: string): VnfpipeError {
  // The spec names a file or a variable, never a value: it can be shown.
  return new VnfpipeError('USAGE', `--secret '${spec}' is not id=ID,src=FILE or id=ID,env=VAR`);
}

function progress(json: boolean): SolveListener {
  const write = json ? (event: object) => process.stdout.write(`${JSON.stringify(event)}\n`) : undefined;
  if (write) {
    return {
      onVertex: (v) => write({ type: 'vertex', ...v }),
      onLog: (l) => write({ type: 'log', ...l }),
    };
  }
  return {
    onVertex: (v) => {
      const timing = v.durationMs !== undefined ? ` ${(v.durationMs / 1000).toFixed(1)}s` : '';
      const state =
        v.state === 'cached' ? 'CACHED' : v.state === 'failed' ? `ERROR ${v.error ?? ''}` : v.state;
      process.stderr.write(
        `#${v.digest.slice(7, 15)} ${v.name} ${state}${v.state === 'cached' ? '' : timing}\n`,
      );
    },
    onLog: (l) => process.stderr.write(`#${l.vertex.slice(7, 15)} ${l.line}\n`),
  };
}

const ENGINE_PREFIX = 'docker-daemon:';
// A docker image name with an optional tag (no digest: the engine names what it just built).
const ENGINE_NAME =
  /^(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?$/;

/** `docker-daemon:<name>[:tag]` (skopeo's name for an engine image) → the name, checked. */
export function engineImageName(tag: string): string | undefined {
  if (!tag.startsWith(ENGINE_PREFIX)) return undefined;
  const name = tag.slice(ENGINE_PREFIX.length);
  if (!ENGINE_NAME.test(name)) {
    throw new VnfpipeError('USAGE', `--tag '${tag}' is not docker-daemon:<name>[:<tag>]`, {
      hint: 'an image name such as docker-daemon:vnf/vfw:1 (lower case, no digest)',
    });
  }
  return name;
}

export async function dockerfileBuildCommand(opts: DockerfileCommandOptions): Promise<number> {
  const engineImage = engineImageName(opts.tag);
  const [{ buildDockerfile }, { parseReference }] = await Promise.all([
    import('../buildkit/dockerfile.js'),
    import('../oci/reference.js'),
  ]);
  const target = engineImage ? undefined : parseReference(opts.tag);
  const address = parseBuildkitAddress(opts.buildkitHost ?? process.env.BUILDKIT_HOST, process.env, {
    ...(opts.tlscacert ? { ca: opts.tlscacert } : {}),
    ...(opts.tlscert ? { cert: opts.tlscert } : {}),
    ...(opts.tlskey ? { key: opts.tlskey } : {}),
  });
  const secrets: Record<string, Uint8Array> = {};
  for (const spec of opts.secret ?? []) {
    const [id, value] = await readSecretSpec(spec);
    secrets[id] = value;
  }
  const common = {
    context: resolve(opts.context ?? '.'),
    dockerfile: resolve(opts.dockerfile),
    buildArgs: keyValues(opts.buildArg, '--build-arg'),
    labels: keyValues(opts.label, '--label'),
    ...(opts.target ? { target: opts.target } : {}),
    ...(opts.cache === false ? { noCache: true } : {}),
    secrets,
    address,
    listener: progress(opts.json === true),
  };
  // Where the time went (start-up excluded): connect, solve, export, cleanup, in milliseconds.
  const phasesOf = (phases: Record<string, number>) =>
    Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Math.round(v)]));

  if (!target) {
    // Like docker build -t: the image stays in the engine, nothing is exported.
    const built = await buildDockerfile({ ...common, engineImage: engineImage! });
    if (!('imageId' in built)) throw new Error('the engine build returned a layout');
    process.stdout.write(
      opts.json
        ? `${JSON.stringify({ type: 'result', phasesMs: phasesOf(built.phases), reference: built.ref, imageId: built.imageId })}\n`
        : `${built.ref}@${built.imageId}\n`,
    );
    return EXIT.ok;
  }
  const scratch =
    target.transport === 'registry' ? await mkdtemp(join(tmpdir(), 'vnfpipe-image-')) : undefined;
  try {
    const layout = target.transport === 'oci' ? resolve(target.dir) : scratch!;
    const name = target.transport === 'oci' ? (target.ref ?? 'latest') : 'latest';
    const built = await buildDockerfile({ ...common, layout, name });
    const { publishBuilt } = await import('./image.js');
    await publishBuilt(target, layout, name, built, opts, {
      type: 'result',
      phasesMs: phasesOf(built.phases),
    });
    return EXIT.ok;
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}
