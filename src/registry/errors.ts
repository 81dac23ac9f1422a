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

/** A network failure, described by its code only (Node's network errors hold no credentials, but stay terse). */
export function unreachable(where: string, error: unknown, hint?: string): VnfpipeError {
  const err = error as NodeJS.ErrnoException | undefined;
  const why = err?.code ?? err?.message ?? String(error);
  return new VnfpipeError(RegistryErrorCode.unreachable, `cannot reach the registry (${why})`, {
    where,
    hint: hint ?? 'check the address, that the registry runs, and TLS settings (--insecure, --ca-file)',
  });
}

export function invalidAnswer(message: string, where: string): VnfpipeError {
  return new VnfpipeError('OCI_INVALID', message, { where });
}
