import { VnfpipeError } from '../errors.js';
import type { Duration } from './model.js';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** `250ms`, `30s`, `5m`, `1h` or a number of milliseconds. */
export function parseDuration(value: Duration, what: string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
  } else {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value);
    if (match) return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  }
  throw new VnfpipeError('PIPELINE_INVALID', `${what}: '${String(value)}' is not a duration`, {
    hint: "use milliseconds or a string such as '500ms', '30s', '5m', '1h'",
  });
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${Math.round((ms % 60_000) / 1000)
    .toString()
    .padStart(2, '0')}s`;
}
