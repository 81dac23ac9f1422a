/**
 * The registry side of the step cache: whether what a push, a signature or an attestation left in a registry
 * is still there — one HEAD per reference, the tag or digest must name the recorded digest.
 *
 * The HEADs are first sent as the registry client's own first requests would be: without credentials
 * (the client sends none until a challenge asks for them), plain HTTP for a loopback or `insecure` registry,
 * else HTTPS with the system's CAs. A registry that answers them (200 with its digest, or 404) has answered
 * what the client would have learnt. Anything else — a 401 challenge, a redirect, extra CAs, a TLS or
 * connection error — goes through the full client, which resolves credentials as the steps do (the step's
 * `auth`, the environment, the docker config); its module then loads once per run, and one client per
 * registry and settings serves every check of the run.
 */
import type { Agent as HttpAgent, IncomingMessage } from 'node:http';
import { MediaType } from '../oci/media-types.js';
import type { CacheValidContext } from '../pipeline/model.js';
import type { Credentials } from './auth/credentials.js';
import type { RegistryClient } from './client.js';

export interface CheckClientOptions {
  credentials?: Credentials;
  insecure?: boolean;
  /** Absolute path of a PEM bundle of extra CAs. */
  caFile?: string;
}

export interface ExpectedManifest {
  /** A tag or a digest in the repository. */
  reference: string;
  /** The digest it must name. */
  digest: string;
  /** What it is, for the reason (`signature tag`). */
  what: string;
}

/** The Accept header the client sends for manifests (every type we read, so no schema 1 conversion). */
const MANIFEST_ACCEPT = [
  MediaType.ociManifest,
  MediaType.ociIndex,
  MediaType.dockerManifest,
  MediaType.dockerManifestList,
].join(', ');
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * The first reference that is gone or names another digest, as a reason; undefined when all hold. Rejects
 * when the registry cannot be asked (the caller runs the step then).
 */
export async function manifestsProblem(
  ctx: CacheValidContext,
  registry: string,
  repository: string,
  expected: readonly ExpectedManifest[],
  options: CheckClientOptions = {},
): Promise<string | undefined> {
  let found = await anonymousHeads(ctx, registry, repository, expected, options);
  if (!found) {
    const client = await checkClient(ctx, registry, options);
    found = await Promise.all(
      expected.map(async (e) => (await client.headManifest(repository, e.reference))?.digest ?? null),
    );
  }
  for (const [i, e] of expected.entries()) {
    const at = `${registry}/${repository}${e.reference.startsWith('sha256:') ? '@' : ':'}${e.reference}`;
    const now = found[i];
    if (!now) return `the registry no longer has the ${e.what} ${at}`;
    if (now !== e.digest)
      return `the ${e.what} ${at} now names ${now.slice(0, 19)}… (recorded ${e.digest.slice(0, 19)}…)`;
  }
  return undefined;
}

/**
 * `host[:port]/repo/path` (optionally `@digest`), as the push, sign and attest steps record it, split into
 * the registry and the repository; undefined for anything else.
 */
export function splitRepository(text: string): { registry: string; repository: string } | undefined {
  const match = /^([^/@\s]+)\/([a-z0-9]+(?:[._/-][a-z0-9]+)*)(?:@sha256:[0-9a-f]{64})?$/.exec(text ?? '');
  return match ? { registry: match[1]!, repository: match[2]! } : undefined;
}

/** The run's shared client for a registry with these settings (credentials resolved as the steps do). */
export async function checkClient(
  ctx: CacheValidContext,
  registry: string,
  options: CheckClientOptions,
): Promise<RegistryClient> {
  const { RegistryClient } = await import('./client.js');
  return ctx.shared(
    `registry-check-client\0${registry}\0${JSON.stringify(options)}`,
    () => new RegistryClient(registry, { env: ctx.env, retry: { attempts: 2 }, ...options }),
    (client) => client.close(),
  );
}

function isLoopback(registry: string): boolean {
  const name = registry.startsWith('[')
    ? registry.slice(1, registry.indexOf(']'))
    : registry.lastIndexOf(':') === -1
      ? registry
      : registry.slice(0, registry.lastIndexOf(':'));
  if (name === 'localhost' || name === '::1') return true;
  return /^127(\.\d{1,3}){3}$/.test(name);
}

/**
 * Each reference's digest (null: not there) from credential-less HEADs, or undefined when the full client
 * must ask (see the module comment). Once a registry needed the client, later checks of the run go there.
 */
async function anonymousHeads(
  ctx: CacheValidContext,
  registry: string,
  repository: string,
  expected: readonly ExpectedManifest[],
  options: CheckClientOptions,
): Promise<Array<string | null> | undefined> {
  const plain = isLoopback(registry) || options.insecure === true;
  // Extra CAs, or TLS without verification: the client's transport sets those up.
  if (options.caFile || (!plain && (ctx.env.SSL_CERT_FILE || process.env.SSL_CERT_FILE))) return undefined;
  const state = ctx.shared(`registry-check-direct\0${registry}`, () => ({ useClient: false }));
  if (state.useClient) return undefined;
  const { request, Agent } = plain ? await import('node:http') : await import('node:https');
  const agent = ctx.shared(
    `registry-check-agent\0${plain ? 'http' : 'https'}`,
    () => new Agent({ keepAlive: true }) as HttpAgent,
    (made) => made.destroy(),
  );
  const head = (reference: string) =>
    new Promise<string | null | undefined>((resolve) => {
      const req = request(
        `${plain ? 'http' : 'https'}://${registry}/v2/${repository}/manifests/${reference}`,
        { method: 'HEAD', headers: { accept: MANIFEST_ACCEPT }, agent, signal: ctx.signal },
        (res: IncomingMessage) => {
          res.resume();
          const digest = res.headers['docker-content-digest'];
          if (res.statusCode === 404) resolve(null);
          else if (res.statusCode !== 200) resolve(undefined);
          else if (DIGEST.test(reference)) resolve(reference);
          else resolve(typeof digest === 'string' && DIGEST.test(digest) ? digest : undefined);
        },
      );
      req.on('error', () => resolve(undefined));
      req.end();
    });
  const found = await Promise.all(expected.map((e) => head(e.reference)));
  if (found.some((digest) => digest === undefined)) {
    state.useClient = true;
    return undefined;
  }
  return found as Array<string | null>;
}
