/**
 * The one interface every deploy target implements (docker, swarm, kubernetes), and the one factory the
 * steps and the CLI get a target from. Target-specific deploy settings ride in `O`.
 */
import type { Release } from '../pipeline/kinds.js';
import type { ProbeRuntime } from '../verify/runtime.js';
import type { EngineOption } from './engine/address.js';
import type { Revision } from './history.js';
import type { Workload } from './model.js';

export type Log = (line: string) => void;

/** What every deploy takes, whatever the target. */
export interface CommonDeployOptions {
  /** Registry credentials for pulling the image. */
  auth?: { username: string; password: string };
  runId?: string;
  signal?: AbortSignal;
  log?: Log;
}

export interface RollbackOptions {
  /** This revision instead of the newest one that passed verify. */
  to?: number;
  log?: Log;
  signal?: AbortSignal;
  /** What relative `oci:` layout paths are relative to (docker). */
  cwd?: string;
}

/** A revision as `vnfpipe history` shows it: the record plus what the target says runs now. */
export type HistoryRow = Pick<Revision, 'revision' | 'image' | 'status' | 'createdAt' | 'updatedAt'> & {
  note?: string;
  state: string;
};

export interface TargetStatus {
  /** The revision the target serves now, when one does. */
  revision?: number;
  /** The target's own word for it (running, exited, progressing, available…). */
  state: string;
}

export interface DeployTarget<O extends object = object> {
  readonly kind: Release['target'];
  deploy(workload: Workload, options?: CommonDeployOptions & O): Promise<Release>;
  /** After verify passed: this revision is verified, what it replaces is retired. */
  promote(release: Release, log?: Log): Promise<void>;
  /** Back to `to`, or to the newest revision that passed verify; waits until it serves. */
  rollback(name: string, options?: RollbackOptions): Promise<Release>;
  history(name: string): Promise<HistoryRow[]>;
  status(name: string): Promise<TargetStatus>;
  /** What verify's probes act through for this release. */
  probeRuntime(release: Release): Promise<ProbeRuntime>;
  /** Removes everything the target created for the workload. */
  destroy(workload: Workload): Promise<void>;
}

/** Where a kubernetes target applies: the namespace, and optionally the kubeconfig file and context. */
export interface KubernetesAddress {
  namespace: string;
  context?: string;
  kubeconfig?: string;
}

export type TargetAddress =
  | {
      kind: 'docker' | 'swarm';
      /** DOCKER_HOST form, or with TLS files / SSH settings; default: the environment's engine. */
      engine?: EngineOption;
      /** A docker context name; default: DOCKER_HOST, DOCKER_CONTEXT, then the docker config's currentContext. */
      context?: string;
    }
  | ({ kind: 'kubernetes' } & KubernetesAddress);

export interface TargetEnvironment {
  stateDir: string;
  env: NodeJS.ProcessEnv;
  /** What a relative kubeconfig path is relative to (the project); default the current directory. */
  cwd?: string;
}
