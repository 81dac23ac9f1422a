/** Who wrote a report: vnfpipe and its version. */
import { packageVersion } from '../../package-root.js';

export function toolVersion(): string {
  try {
    return packageVersion();
  } catch {
    return '0.0.0';
  }
}

export const TOOL_NAME = 'vnfpipe';
export const TOOL_URI = 'https://github.com/vnfpipe/vnfpipe';

/** ISO time without milliseconds (SPDX requires `YYYY-MM-DDThh:mm:ssZ`). */
export function isoSeconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
