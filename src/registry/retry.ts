/**
 * Retries with exponential backoff and jitter for transient failures: 429 and 5xx answers (honouring
 * Retry-After) and dropped or refused connections. Anything else fails at once.
 */
import { setTimeout as delay } from 'node:timers/promises';

export interface RetryPolicy {
  /** Attempts in all, the first included (default 5). */
  attempts: number;
  /** First delay; doubled each time, with jitter (default 200 ms). */
  baseDelayMs: number;
  /** Upper bound of one delay, also applied to Retry-After (default 10 s). */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 200, maxDelayMs: 10_000 };

/** Thrown inside an attempt to ask for another one (a 429/5xx answer). */
export class TransientError extends Error {
  readonly retryAfterMs: number | undefined;
  readonly final: Error;
  constructor(final: Error, retryAfterMs?: number) {
    super(final.message);
    this.final = final;
    this.retryAfterMs = retryAfterMs;
  }
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

/** A connection-level failure worth another attempt. */
export function isNetworkError(error: unknown): boolean {
  const err = error as NodeJS.ErrnoException | undefined;
  if (!err || typeof err !== 'object') return false;
  if (err.name === 'AbortError') return false;
  if (err.code && NETWORK_CODES.has(err.code)) return true;
  return err.message === 'socket hang up' || err.message === 'aborted';
}

export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status !== 501 && status !== 505);
}

/** Retry-After as delta-seconds or an HTTP date, in ms. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function backoffDelay(policy: RetryPolicy, attempt: number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxDelayMs);
  const exp = policy.baseDelayMs * 2 ** (attempt - 1);
  return Math.min(policy.maxDelayMs, exp / 2 + Math.random() * (exp / 2));
}

/**
 * Runs `attempt` until it succeeds, it throws something not transient, or attempts run out (then the last
 * failure is thrown: a TransientError's `final`, or the network error).
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  attempt: (n: number) => Promise<T>,
  options: { signal?: AbortSignal; onRetry?: (error: unknown, n: number, waitMs: number) => void } = {},
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      const transient = error instanceof TransientError || isNetworkError(error);
      if (!transient || n >= policy.attempts || options.signal?.aborted) {
        throw error instanceof TransientError ? error.final : error;
      }
      const wait = backoffDelay(policy, n, error instanceof TransientError ? error.retryAfterMs : undefined);
      options.onRetry?.(error, n, wait);
      await delay(wait, undefined, { signal: options.signal });
    }
  }
}
