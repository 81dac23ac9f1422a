/**
 * A small LLB compiler for `image.run(...)` layers: an image source and a chain of exec ops, each mounting
 * the previous root read-write at `/` plus secret, cache and tmpfs mounts. An op's digest is the sha256 of
 * its serialised bytes; the definition ends with an op that only points at the result. "Unset" is -1 for
 * mount inputs and outputs (BuildKit's convention), not 0.
 */
import { createHash } from 'node:crypto';
import { create, toBinary } from '@bufbuild/protobuf';
import {
  CacheSharingOpt,
  type Definition,
  DefinitionSchema,
  type Mount,
  MountSchema,
  MountType,
  type Op,
  OpSchema,
} from './gen/github.com/moby/buildkit/solver/pb/ops_pb.js';

export type RunMount =
  | { type: 'secret'; id: string; target?: string; required?: boolean }
  | { type: 'cache'; target: string; id?: string; sharing?: 'shared' | 'private' | 'locked' }
  | { type: 'tmpfs'; target: string };

export interface RunStep {
  /** A shell command line (`/bin/sh -c`) or an argument vector. */
  command: string | string[];
  mounts?: RunMount[];
  env?: Record<string, string>;
  workdir?: string;
  user?: string;
}

export interface LlbImage {
  /** An image reference the worker resolves (a tag in the engine's store). */
  ref: string;
  /** The base config's environment and defaults, which RUN inherits like a Dockerfile RUN. */
  env: string[];
  workdir?: string;
  user?: string;
  platform: { os: string; architecture: string; variant?: string };
}

const UNSET = -1n;

function argvOf(command: string | string[]): string[] {
  return typeof command === 'string' ? ['/bin/sh', '-c', command] : command;
}

function mountOf(mount: RunMount): Mount {
  switch (mount.type) {
    case 'secret':
      return create(MountSchema, {
        input: UNSET,
        output: UNSET,
        dest: mount.target ?? `/run/secrets/${mount.id}`,
        mountType: MountType.SECRET,
        secretOpt: { ID: mount.id, uid: 0, gid: 0, mode: 0o400, optional: mount.required === false },
      });
    case 'cache':
      return create(MountSchema, {
        input: UNSET,
        output: UNSET,
        dest: mount.target,
        mountType: MountType.CACHE,
        cacheOpt: {
          ID: mount.id ?? mount.target,
          sharing:
            mount.sharing === 'private'
              ? CacheSharingOpt.PRIVATE
              : mount.sharing === 'locked'
                ? CacheSharingOpt.LOCKED
                : CacheSharingOpt.SHARED,
        },
      });
    case 'tmpfs':
      return create(MountSchema, {
        input: UNSET,
        output: UNSET,
        dest: mount.target,
        mountType: MountType.TMPFS,
      });
  }
}

function mergeEnv(base: string[], extra: Record<string, string> | undefined): string[] {
  const out = new Map(base.map((kv) => [kv.slice(0, kv.indexOf('=')), kv] as const));
  for (const [k, v] of Object.entries(extra ?? {})) out.set(k, `${k}=${v}`);
  return [...out.values()];
}

/** The LLB definition of `base` followed by `steps`. */
export function compileRuns(base: LlbImage, steps: readonly RunStep[]): Definition {
  const def: Uint8Array[] = [];
  const platform = {
    OS: base.platform.os,
    Architecture: base.platform.architecture,
    ...(base.platform.variant ? { Variant: base.platform.variant } : {}),
  };
  const push = (op: Op): string => {
    const bytes = toBinary(OpSchema, op);
    def.push(bytes);
    return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  };
  let last = push(
    create(OpSchema, {
      op: { case: 'source', value: { identifier: `docker-image://${base.ref}` } },
      platform,
    }),
  );
  for (const step of steps) {
    last = push(
      create(OpSchema, {
        inputs: [{ digest: last, index: 0n }],
        op: {
          case: 'exec',
          value: {
            meta: {
              args: argvOf(step.command),
              env: mergeEnv(base.env, step.env),
              cwd: step.workdir ?? base.workdir ?? '/',
              user: step.user ?? base.user ?? '',
            },
            mounts: [
              create(MountSchema, { input: 0n, dest: '/', output: 0n }),
              ...(step.mounts ?? []).map(mountOf),
            ],
          },
        },
        platform,
      }),
    );
  }
  push(create(OpSchema, { inputs: [{ digest: last, index: 0n }] }));
  return create(DefinitionSchema, { def });
}
