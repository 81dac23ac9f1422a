/**
 * The `push` step: copies a built image (an OCI layout ref, or a registry ref) to a registry and hands on
 * `{ ref, digest, repository, tags }`, pinned by digest. Cheap to import: the client loads when it runs.
 */

import { resolve } from 'node:path';
import { VnfpipeError } from '../errors.js';
import { imageContentFiles } from '../oci/content-files.js';
import type { ImageRef } from '../pipeline/kinds.js';
import type { CacheValidContext, Input, StepContext, StepSpec } from '../pipeline/model.js';
import type { SecretRef } from '../pipeline/secret.js';
import { manifestsProblem, splitRepository } from './check.js';

export interface PushOptions {
  /** The image to push: a build step's output (`img.out`), a literal ImageRef, or a reference such as
   * `oci:<dir>:<ref>` or `docker-archive:<file>[:ref]`. */
  image: Input<ImageRef> | Input<string>;
  /**
   * Destination `host/repo[:tag]`.
   * @default tag `latest` when `to` names none
   */
  to: string;
  /** More tags to point at the same image. */
  tags?: string[];
  /**
   * Credentials: a secret holding `user:password` (or a bare registry token), or a username and a password
   * secret. Without it: VNFPIPE_REGISTRY_* variables, then the docker config.
   */
  auth?: SecretRef | { username: string | SecretRef; password: SecretRef };
  /** Allow plain HTTP / unverified TLS for a registry off loopback. */
  insecure?: boolean;
  /** PEM bundle of extra CAs (relative to the project). */
  caFile?: string;
  /** Push only this platform of a multi-platform image. */
  platform?: string;
  /** Blobs uploaded at once (default 4). */
  concurrency?: number;
}

/** Output of `push`: an ImageRef in the registry, pinned by digest. */
export interface PushedImage extends ImageRef {
  /** `host/repo` */
  repository: string;
  tags: string[];
}

type ResolvedAuth = string | { username: string; password: string };

interface ResolvedPush extends Omit<PushOptions, 'image' | 'auth'> {
  image: ImageRef | string;
  auth?: ResolvedAuth;
}

const DEST = /^[^\s@]+$/;

/**
 * A step that pushes an image to a registry (blobs it has are skipped, mounted across repositories when it
 * can); its output is pinned by digest, the reference deploy steps should run.
 *
 * @example
 * ```ts
 * const pushed = p.step('push', push({ image: img.out, to: '127.0.0.1:5000/vnf/vfw:1', auth: secret('REGISTRY_AUTH') }));
 * ```
 * @see `vnfpipe login` to store credentials where this step finds them.
 */
export function push(options: PushOptions): StepSpec<PushedImage, PushOptions> {
  return {
    kind: 'push',
    stage: 'push',
    options,
    validate(opts) {
      if (opts?.image === undefined || opts.image === null) {
        throw new VnfpipeError('PIPELINE_INVALID', "push: 'image' is required (a build step's output)");
      }
      if (typeof opts.to !== 'string' || !DEST.test(opts.to) || opts.to.startsWith('oci:')) {
        throw new VnfpipeError(
          'PIPELINE_INVALID',
          "push: 'to' must be a registry reference like localhost:5000/vnf/app:1",
        );
      }
      if (
        opts.tags !== undefined &&
        (!Array.isArray(opts.tags) ||
          opts.tags.some((t) => typeof t !== 'string' || !/^[\w][\w.-]{0,127}$/.test(t)))
      ) {
        throw new VnfpipeError('PIPELINE_INVALID', "push: 'tags' must be an array of valid tags");
      }
    },
    // Cached by the image's digest and the options; reused only while the registry still has every tag
    // naming the pushed manifest (one HEAD each).
    cacheInputs: (opts) => {
      const files = imageContentFiles(opts.image as ImageRef | string);
      return files ? { files } : undefined;
    },
    cacheValid: (output, opts, ctx) => pushedStillThere(ctx, output, opts as unknown as ResolvedPush),
    cacheValidRemote: 'the registry still has each pushed tag, naming the pushed digest',
    run: (ctx, opts) => runPush(ctx, opts as unknown as ResolvedPush),
  };
}

/** Credentials as the push resolves them: the step's `auth`, else the client's own (environment, docker config). */
async function explicitCredentials(
  auth: ResolvedAuth | undefined,
  addSecret: (value: string) => void,
): Promise<import('./auth/credentials.js').Credentials | undefined> {
  if (typeof auth === 'string') {
    addSecret(auth);
    return (await import('./auth/credentials.js')).credentialsFromString(auth);
  }
  if (auth) {
    addSecret(auth.password);
    return { kind: 'basic', username: auth.username, password: auth.password };
  }
  return undefined;
}

/** Why a recorded push no longer holds (a tag gone, or naming another manifest), or undefined. */
async function pushedStillThere(
  ctx: CacheValidContext,
  output: PushedImage,
  opts: ResolvedPush,
): Promise<string | undefined> {
  const where = splitRepository(output?.repository);
  if (!where || !output.digest) return 'the recorded push names no repository and digest';
  const credentials = await explicitCredentials(opts.auth, () => {});
  const references = output.tags?.length ? output.tags : [output.digest];
  return manifestsProblem(
    ctx,
    where.registry,
    where.repository,
    references.map((reference) => ({
      reference,
      digest: output.digest,
      what: reference.startsWith('sha256:') ? 'pushed manifest' : 'pushed tag',
    })),
    {
      ...(credentials ? { credentials } : {}),
      ...(opts.insecure ? { insecure: true } : {}),
      ...(opts.caFile ? { caFile: resolve(ctx.cwd, opts.caFile) } : {}),
    },
  );
}

async function runPush(ctx: StepContext, opts: ResolvedPush): Promise<PushedImage> {
  const [{ parseReference, parseRegistryReference }, { copyImage }] = await Promise.all([
    import('../oci/reference.js'),
    import('./copy.js'),
  ]);
  const dest = parseRegistryReference(opts.to);
  const image = typeof opts.image === 'string' ? { ref: opts.image } : opts.image;
  // A layout image is taken by the digest the build reported, so a later build of the same name cannot
  // slip in between build and push.
  const source =
    'layout' in image && image.layout && image.ref.startsWith('oci:') && image.digest
      ? { transport: 'oci' as const, dir: image.layout, ref: image.digest }
      : parseReference(
          await (await import('../oci/docker-archive.js')).asLayoutReference(image.ref, {
            cwd: ctx.cwd,
            signal: ctx.signal,
          }),
        );
  const credentials = await explicitCredentials(opts.auth, (value) => ctx.addSecret(value));
  const lastReport = new Map<string, number>();
  const result = await copyImage(source, dest, {
    cwd: ctx.cwd,
    signal: ctx.signal,
    tags: opts.tags,
    ...(opts.platform ? { platform: opts.platform } : {}),
    ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
    registries: {
      [dest.registry]: {
        env: ctx.env,
        ...(credentials ? { credentials } : {}),
        ...(opts.insecure ? { insecure: true } : {}),
        ...(opts.caFile ? { caFile: resolve(ctx.cwd, opts.caFile) } : {}),
        onRetry: (what, error, attempt) =>
          ctx.log(`retry ${attempt} of ${what}: ${(error as Error).message}`, 'warn'),
      },
    },
    onProgress: (p) => {
      // At most ~10 updates a second per blob, plus the final one.
      const now = Date.now();
      if (p.state === 'transferring' && now - (lastReport.get(p.digest) ?? 0) < 100) return;
      lastReport.set(p.digest, now);
      ctx.progress({ label: p.digest.slice(0, 19), current: p.current, total: p.total, unit: 'bytes' });
    },
    onLog: (line) => ctx.log(line),
  });
  return {
    ref: result.reference,
    digest: result.digest,
    repository: `${dest.registry}/${dest.repository}`,
    tags: result.tags,
  };
}
