/** Packet rates and loss ratios as pipelines write them. */
import { VnfpipeError } from '../../errors.js';

const UNITS: Record<string, number> = { pps: 1, kpps: 1e3, mpps: 1e6 };

/** `20kpps`, `1.5mpps`, `500pps` or a number of packets per second. */
export function parseRate(value: string | number, what: string): number {
  const match = typeof value === 'number' ? undefined : /^(\d+(?:\.\d+)?)\s*(pps|kpps|mpps)$/i.exec(value);
  const pps =
    typeof value === 'number'
      ? value
      : match
        ? Number(match[1]) * UNITS[match[2]!.toLowerCase()]!
        : Number.NaN;
  if (!Number.isFinite(pps) || pps <= 0)
    throw new VnfpipeError('PIPELINE_INVALID', `${what}: '${String(value)}' is not a packet rate`, {
      hint: "use packets per second: a number, or '500pps', '20kpps', '1.5mpps'",
    });
  return pps;
}

/** `0.1%` or a ratio such as 0.001. */
export function parseLoss(value: string | undefined, what: string): number {
  if (value === undefined) return 0.001;
  const match = /^(\d+(?:\.\d+)?)%$/.exec(value);
  const ratio = match ? Number(match[1]) / 100 : Number(value);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1)
    throw new VnfpipeError('PIPELINE_INVALID', `${what}: '${value}' is not a loss ratio`, {
      hint: "use a percentage such as '0.1%', or a ratio between 0 and 1",
    });
  return ratio;
}

export function formatRate(pps: number): string {
  return pps >= 1e6
    ? `${+(pps / 1e6).toFixed(2)}Mpps`
    : pps >= 1e3
      ? `${+(pps / 1e3).toFixed(1)}kpps`
      : `${Math.round(pps)}pps`;
}
