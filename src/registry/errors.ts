/**
 * Errors of the registry client. They name the registry, repository or blob, and never carry credentials:
 * no request headers, no token bodies, and no `cause` that could hold either.
 * Unknown manifests are `OCI_NOT_FOUND`.
 */
import { type ErrorCode, VnfpipeError } from '../errors.js';

export const RegistryErrorCode = {
  auth: 'REGISTRY_AUTH',
  remote: 'REGISTRY_ERROR',
  unreachable: 'REGISTRY_UNREACHABLE',
  notFound: 'OCI_NOT_FOUND',
  usage: 'USAGE',
} as const satisfies Record<string, ErrorCode>;

export function authFailed(registry: string, detail?: string): VnfpipeError {
  return new VnfpipeError(RegistryErrorCode.auth, `authentication failed for ${registry}`, {
    where: registry,
    hint: detail
      ? `${detail}; check the username and password (vnfpipe login ${registry})`
      : `check the username and password (vnfpipe login ${registry})`,
  });
}

/** A distribution error body: `{"errors":[{"code","message","detail"}]}`; anything else is ignored. */
export function describeErrorBody(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    if (!Array.isArray(parsed.errors)) return undefined;
    const parts = parsed.errors
      .map((e) => [e?.code, e?.message].filter((x) => typeof x === 'string' && x).join(': '))
      .filter(Boolean);
    return parts.length ? parts.join('; ').slice(0, 500) : undefined;
  } catch {
    return undefined;
  }
}

export function remoteError(
  status: number,
  what: string,
  where: string,
  body = '',
  code: ErrorCode = RegistryErrorCode.remote,
): VnfpipeError {
  const detail = describeErrorBody(body);
  return new VnfpipeError(code, `${what}: registry answered ${status}${detail ? ` (${detail})` : ''}`, {
    where,
    hint: status >= 500 ? 'the registry failed; retry later' : undefined,
  });
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'EAI_NODATA']);

/** Certificate and handshake failures: only these get the TLS hint. */
function isTlsFailure(code: string | undefined): boolean {
  if (!code) return false;
  return (
    code.startsWith('ERR_SSL_') ||
    code.startsWith('ERR_TLS_') ||
    code.startsWith('CERT_') ||
    code.startsWith('UNABLE_TO_') ||
    code === 'EPROTO' ||
    code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ||
    code === 'SELF_SIGNED_CERT_IN_CHAIN' ||
    code === 'HOSTNAME_MISMATCH'
  );
}

/**
 * A network failure, described by its code only (Node's network errors hold no credentials, but stay terse).
 * DNS failures name the host that did not resolve; the TLS hint is kept for TLS failures.
 */
export function unreachable(where: string, error: unknown, hint?: string): VnfpipeError {
  if (error instanceof VnfpipeError) return error;
  const err = error as (NodeJS.ErrnoException & { hostname?: string }) | undefined;
  const code = err?.code;
  if (code && DNS_CODES.has(code)) {
    const host = typeof err?.hostname === 'string' && err.hostname ? err.hostname : where;
    return new VnfpipeError(RegistryErrorCode.unreachable, `cannot resolve host ${host} (${code})`, {
      where,
      hint: 'check the host name, and the DNS settings of this machine',
    });
  }
  if ((error as Error | undefined)?.name === 'DeadlineError') {
    return new VnfpipeError(
      RegistryErrorCode.unreachable,
      `the registry is too slow (${(error as Error).message})`,
      {
        where,
        hint: 'the registry or the network stalls; VNFPIPE_REGISTRY_MIN_RATE=<bytes/s>/<seconds> and VNFPIPE_REGISTRY_HEADER_TIMEOUT=<seconds> set the limits',
      },
    );
  }
  const why = code ?? err?.message ?? String(error);
  return new VnfpipeError(RegistryErrorCode.unreachable, `cannot reach the registry (${why})`, {
    where,
    hint:
      hint ??
      (isTlsFailure(code)
        ? 'check the TLS settings: trust the registry CA with --ca-file or SSL_CERT_FILE, or use --insecure'
        : 'check the address, and that the registry runs and accepts connections'),
  });
}

export function invalidAnswer(message: string, where: string): VnfpipeError {
  return new VnfpipeError('OCI_INVALID', message, { where });
}

/**
 * Whatever escapes a transfer as a typed error: network failures as unreachable, file-system failures as IO
 * naming the file, anything else as IO naming `where`. Aborts pass through for the caller's cancellation.
 */
export function typedError(error: unknown, where: string): unknown {
  if (error instanceof VnfpipeError || (error as Error)?.name === 'AbortError') return error;
  const err = error as (NodeJS.ErrnoException & { hostname?: string }) | undefined;
  if (err?.syscall === 'getaddrinfo' || err?.syscall === 'connect' || err?.code === 'ECONNRESET')
    return unreachable(where, error);
  if (err?.path) {
    return new VnfpipeError('IO', `${err.syscall ?? 'file operation'} failed (${err.code ?? 'error'})`, {
      where: err.path,
    });
  }
  return new VnfpipeError('IO', `transfer failed: ${err?.code ?? err?.message ?? String(error)}`, { where });
}
