/**
 * What probes need from a deployment, whatever target runs it. Each target supplies an implementation
 * (`DeployTarget.probeRuntime`), so probes never import a target.
 */
import { isVnfpipeError, messageOf, VnfpipeError } from '../errors.js';
import type { Release } from '../pipeline/kinds.js';

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A short-lived vnfprobe run beside the workload; its output is readable after it exits or is stopped. */
export interface ProbeHandle {
  name: string;
  wait(timeoutMs: number): Promise<ExecResult>;
  remove(): Promise<void>;
  stop(): Promise<void>;
}

export interface ProbeRuntime {
  /** The release as probes see it: `networks` maps roles to the target's network names. */
  readonly release: Release;
  /** The instance (container, pod) probes look at. */
  readonly container: string;
  isRunning(instance: string): Promise<boolean>;
  /** The image the workload runs (probe runs reuse it: it is where the workload runs already). */
  image(): Promise<string>;
  /** The workload's address on a role's network (the first role when none is given). */
  address(role: string | undefined): Promise<string>;
  exec(command: string[]): Promise<ExecResult>;
  processes(): Promise<Array<{ pid: string; stat: string; comm: string }>>;
  logs(tail?: number, instance?: string): Promise<string>;
  /** Runs vnfprobe on one of the workload's networks, or inside the workload's network namespace. */
  probeContainer(options: {
    image: string;
    args: string[];
    network?: string;
    ip?: string;
    shareWith?: string;
  }): Promise<ProbeHandle>;
  /**
   * Starts an isolated copy of the workload and measures its start (ms to the first log line, undefined
   * when none came) or its stop on SIGTERM (whether the grace period ran out).
   */
  canary(check: 'sigterm' | 'startup-time'): Promise<CanaryResult>;
  /** Removes what an interrupted verify of this workload left behind. */
  removeLeftovers(log: (line: string) => void): Promise<void>;
}

export type CanaryResult =
  | { check: 'startup-time'; firstLogMs: number | undefined }
  | { check: 'sigterm'; killed: boolean; stoppedMs: number; exitCode: number; graceSeconds: number };

/** A failure of verify's own tooling: no verdict on the workload, so no rollback. */
export function infraError(what: string, workload: string, cause: unknown): VnfpipeError {
  if (isVnfpipeError(cause) && cause.infrastructure) return cause;
  return new VnfpipeError('VERIFY_INFRA', `${what}: ${messageOf(cause).split('\n')[0]}`, {
    where: `verify of ${workload}`,
    hint: 'a failure of the verify tooling, not a verdict on the workload (so nothing is rolled back): fix the cause and verify again',
    cause,
  });
}
