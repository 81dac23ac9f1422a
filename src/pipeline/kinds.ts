/**
 * The built-in step kinds, their default stages, and the typed outputs they hand to later steps.
 * Kinds whose implementation has not landed yet are listed with `available: false`, so `plan` can say so.
 */
import type { EngineOption } from '../deploy/engine/address.js';

export interface StepKindInfo {
  readonly stage: string;
  readonly summary: string;
}

export const BUILTIN_KINDS = {
  exec: { stage: 'build', summary: 'run a command in the project directory' },
  custom: { stage: 'build', summary: 'an async function of the step context' },
  build: { stage: 'build', summary: 'build a layered OCI image (native builder)' },
  scan: { stage: 'scan', summary: 'SBOM, vulnerabilities and image checks with a policy gate' },
  push: { stage: 'push', summary: 'copy an image to an OCI registry' },
  deploy: { stage: 'deploy', summary: 'run the workload on Docker, Swarm or Kubernetes' },
  verify: { stage: 'verify', summary: 'probe the deployment with real traffic and checks' },
  rollback: { stage: 'rollback', summary: 'return to the last revision that passed verify' },
} as const satisfies Record<string, StepKindInfo>;

export type BuiltinKind = keyof typeof BUILTIN_KINDS;

/** An image in an OCI layout or a registry, pinned by digest. Output of `build` and `push`. */
export interface ImageRef {
  /** `oci:<dir>:<name>` or `registry/repo:tag`. */
  ref: string;
  /** `sha256:…` of the manifest (or index). */
  digest: string;
  /** The OCI layout folder holding the image, when it is local. */
  layout?: string;
}

/** Output of `scan`. */
export interface ScanReport {
  image: string;
  digest: string;
  passed: boolean;
  counts: Record<'critical' | 'high' | 'medium' | 'low' | 'unknown', number>;
  /** Report files written (SBOM, SARIF, JSON). */
  files: string[];
}

/** Output of `deploy`: one numbered revision of a workload on a target. */
export interface Release {
  target: 'docker' | 'swarm' | 'kubernetes';
  name: string;
  revision: number;
  image: string;
  /** The revision that served before this one, kept until this one passes verify. */
  previous?: number;
  /** What runs the revision: container names (docker) or the service name (swarm). */
  instances: string[];
  /** The target's network name for each role (`mgmt` → `vfw-0-mgmt`). */
  networks: Record<string, string>;
  /** The engine endpoint it was deployed through (DOCKER_HOST form), or the cluster's API server. */
  endpoint: string;
  /**
   * The engine the deploy step named (its `engine` option, TLS/SSH file paths included, never key material):
   * verify and rollback go there, not to DOCKER_HOST.
   */
  engine?: EngineOption;
  /** The docker context the deploy step named (its `context` option): verify and rollback use it too. */
  context?: string;
  /** The fleet site the release runs at (deploys that `fleet()` expands), for `vnfpipe status` and history. */
  site?: string;
  /** Where a kubernetes release lives (namespace, and the kubeconfig file and context it was applied with). */
  kubernetes?: { namespace: string; context?: string; kubeconfig?: string };
  /** The GitHub Deployment recording this release, when one was recorded. */
  github?: { id: number; owner: string; repo: string; ref: string; environment: string; logUrl?: string };
}

/** Output of `verify`. */
export interface VerifyResult {
  passed: boolean;
  probes: Array<{ name: string; passed: boolean; evidence: string }>;
}
