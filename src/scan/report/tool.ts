/** Who wrote a report: vnfpipe and its version (read once from package.json). */
import { readFileSync } from 'node:fs';

let version: string | undefined;

export function toolVersion(): string {
  if (version === undefined) {
    try {
      // src/scan/report and dist/scan/report both sit three levels below the package root.
      version = (
        JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
          version: string;
        }
      ).version;
    } catch {
      version = '0.0.0';
    }
  }
  return version;
}

export const TOOL_NAME = 'vnfpipe';
export const TOOL_URI = 'https://github.com/vnfpipe/vnfpipe';

/** ISO time without milliseconds (SPDX requires `YYYY-MM-DDThh:mm:ssZ`). */
export function isoSeconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
