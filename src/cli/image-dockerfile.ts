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

export async function dockerfileBuildCommand(opts: DockerfileCommandOptions): Promise<number> {
  const [{ buildDockerfile }, { parseReference }] = await Promise.all([
    import('../buildkit/dockerfile.js'),
    import('../oci/reference.js'),
  ]);
  const target = parseReference(opts.tag);
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
  const scratch =
    target.transport === 'registry' ? await mkdtemp(join(tmpdir(), 'vnfpipe-image-')) : undefined;
  try {
    const layout = target.transport === 'oci' ? resolve(target.dir) : scratch!;
    const name = target.transport === 'oci' ? (target.ref ?? 'latest') : 'latest';
    const context = resolve(opts.context ?? '.');
    const built = await buildDockerfile({
      context,
      dockerfile: resolve(opts.dockerfile),
      buildArgs: keyValues(opts.buildArg, '--build-arg'),
      labels: keyValues(opts.label, '--label'),
      ...(opts.target ? { target: opts.target } : {}),
      ...(opts.cache === false ? { noCache: true } : {}),
      secrets,
      layout,
      name,
      address,
      listener: progress(opts.json === true),
    });
    const { publishBuilt } = await import('./image.js');
    // Where the time went (start-up excluded): connect, solve, export, cleanup, in milliseconds.
    const phasesMs = Object.fromEntries(Object.entries(built.phases).map(([k, v]) => [k, Math.round(v)]));
    await publishBuilt(target, layout, name, built, opts, { type: 'result', phasesMs });
    return EXIT.ok;
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}
