/**
 * Typed errors. Every error that reaches a user carries a stable code, what went wrong, where (a file,
 * step, registry, blob…), and when possible a hint. The CLI maps `exitCode` straight to the process.
 */
export type ErrorCode =
  | 'USAGE'
  | 'PIPELINE_LOAD'
  | 'PIPELINE_INVALID'
  | 'STAGE_INPUT_MISSING'
  | 'STEP_FAILED'
  | 'STEP_TIMEOUT'
  | 'CANCELLED'
  | 'SECRET_MISSING'
  | 'JOURNAL_CORRUPT'
  | 'OCI_INVALID'
  | 'OCI_DIGEST_MISMATCH'
  | 'OCI_NOT_FOUND'
  | 'LAYER_UNSAFE'
  /** Package or vulnerability data the scanner reads (rpmdb, dpkg status, OSV records and zips) is corrupt. */
  | 'SCAN_DATA'
  | 'REGISTRY_AUTH'
  | 'REGISTRY_ERROR'
  | 'REGISTRY_UNREACHABLE'
  /** The Docker engine does not answer at its address. */
  | 'ENGINE_UNREACHABLE'
  /** Verify's own tooling failed (probe container, probe tool): no verdict on the workload. */
  | 'VERIFY_INFRA'
  /** An image's signature or attestation is missing or does not verify against the policy. */
  | 'TRUST_VERIFY_FAILED'
  /** Signing could not be done (Fulcio or Rekor refused, no identity token). */
  | 'TRUST_SIGN_FAILED'
  /** An ETSI SOL006 VNFD that cannot be read or has no workload meaning (missing VDU, dangling reference). */
  | 'VNFD_INVALID'
  /** A build step (a Dockerfile or DSL `RUN`) failed in BuildKit. */
  | 'BUILD_FAILED'
  /** A build the builder refuses: Dockerfile syntax, unknown stage, missing base image. */
  | 'BUILD_INVALID'
  /** A release bundle that is not one: a hostile or damaged tar, a missing or invalid index. */
  | 'BUNDLE_INVALID'
  /** A release bundle whose content does not match its digests, or whose signatures do not verify. */
  | 'BUNDLE_VERIFY_FAILED'
  | 'IO';

/** Exit codes shared by every command: 0 ok, 1 a step or check failed, 2 bad input or usage, 130 interrupted. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

const exitCodeFor: Record<ErrorCode, number> = {
  USAGE: EXIT.usage,
  PIPELINE_LOAD: EXIT.usage,
  PIPELINE_INVALID: EXIT.usage,
  STAGE_INPUT_MISSING: EXIT.usage,
  STEP_FAILED: EXIT.failed,
  STEP_TIMEOUT: EXIT.failed,
  CANCELLED: EXIT.interrupted,
  SECRET_MISSING: EXIT.usage,
  JOURNAL_CORRUPT: EXIT.usage,
  OCI_INVALID: EXIT.usage,
  OCI_DIGEST_MISMATCH: EXIT.failed,
  OCI_NOT_FOUND: EXIT.usage,
  LAYER_UNSAFE: EXIT.usage,
  SCAN_DATA: EXIT.usage,
  REGISTRY_AUTH: EXIT.failed,
  REGISTRY_ERROR: EXIT.failed,
  REGISTRY_UNREACHABLE: EXIT.failed,
  ENGINE_UNREACHABLE: EXIT.failed,
  VERIFY_INFRA: EXIT.failed,
  TRUST_VERIFY_FAILED: EXIT.failed,
  TRUST_SIGN_FAILED: EXIT.failed,
  VNFD_INVALID: EXIT.usage,
  BUILD_FAILED: EXIT.failed,
  BUILD_INVALID: EXIT.usage,
  BUNDLE_INVALID: EXIT.usage,
  BUNDLE_VERIFY_FAILED: EXIT.failed,
  IO: EXIT.failed,
};

export interface ErrorDetails {
  /** The place the problem is: a file (with line), a step id, a blob digest, a URL. */
  where?: string;
  /** What the user can do about it. */
  hint?: string;
  cause?: unknown;
  /**
   * The failure lies in vnfpipe's own tooling or its environment (a probe container that cannot start, an
   * engine that does not answer), not in what the step checks: `onFailure` handlers such as a rollback do
   * not run for it. Default: true for VERIFY_INFRA and ENGINE_UNREACHABLE.
   */
  infrastructure?: boolean;
}

export class VnfpipeError extends Error {
  readonly code: ErrorCode;
  readonly where: string | undefined;
  readonly hint: string | undefined;
  readonly infrastructure: boolean;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'VnfpipeError';
    this.code = code;
    this.where = details.where;
    this.hint = details.hint;
    this.infrastructure =
      details.infrastructure ?? (code === 'VERIFY_INFRA' || code === 'ENGINE_UNREACHABLE');
  }

  get exitCode(): number {
    return exitCodeFor[this.code];
  }

  /** One or more lines for a human: `where: message`, then the hint. */
  describe(): string {
    const head = this.where ? `${this.where}: ${this.message}` : this.message;
    return this.hint ? `${head}\n  hint: ${this.hint}` : head;
  }
}

export function isVnfpipeError(value: unknown): value is VnfpipeError {
  return value instanceof VnfpipeError;
}

/** Whether a failure is vnfpipe's tooling's or environment's, not the checked subject's (see ErrorDetails). */
export function isInfrastructureFailure(error: unknown): boolean {
  return error instanceof VnfpipeError && error.infrastructure;
}

/** The message of anything thrown, for logs and journals. */
export function messageOf(error: unknown): string {
  if (error instanceof VnfpipeError) return error.describe();
  if (error instanceof Error) return error.message;
  return String(error);
}
