/**
 * A whole scan as the CLI and the pipeline step run it: scan, apply the policy, render and write reports,
 * and decide the exit code — 0 clean, 1 the policy failed, 2 the scan could not run or is partial.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { ScanReport } from '../pipeline/kinds.js';
import { defaultDbDir } from './db/location.js';
import type { Severity } from './model.js';
import {
  applyPolicy,
  type FailOn,
  type IgnoreRule,
  type PolicyResult,
  parseIgnoreRules,
  parseOpenVex,
  type VexStatement,
} from './policy.js';
import type { ScanOptions, ScanResult } from './scanner.js';
import { readStructured } from './structured-file.js';

export const REPORT_FORMATS = ['table', 'json', 'sarif', 'cyclonedx', 'spdx'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface ReportTarget {
  format: ReportFormat;
  /** A file path; omitted means the caller prints it. */
  path?: string;
}

export interface RunScanOptions {
  image: string;
  /** Vulnerability database directory (default: $VNFPIPE_DB_DIR or ~/.cache/vnfpipe/osv). */
  db?: string;
  /** Catalogue only: no database is needed, vulnerabilities are not looked up. */
  skipVulnerabilities?: boolean;
  failOn?: FailOn;
  ignore?: IgnoreRule[];
  /** Files of ignore rules (YAML or JSON). */
  ignoreFiles?: string[];
  vex?: VexStatement[];
  /** OpenVEX documents. */
  vexFiles?: string[];
  reports?: ReportTarget[];
  cwd?: string;
  now?: Date;
  limits?: ScanOptions['limits'];
  checks?: ScanOptions['checks'];
  /** Credentials, TLS and retries when `image` is a registry reference. */
  registry?: ScanOptions['registry'];
  signal?: AbortSignal;
}

export interface ScanOutcome {
  result: ScanResult;
  policy: PolicyResult;
  report: ScanReport;
  /** Rendered reports that had no path, by format. */
  rendered: Partial<Record<ReportFormat, string>>;
  exitCode: 0 | 1 | 2;
}

export const DEFAULT_FAIL_ON: Severity = 'high';

export { defaultDbDir } from './db/location.js';

export async function render(
  format: ReportFormat,
  result: ScanResult,
  policy: PolicyResult,
  now?: Date,
): Promise<string> {
  switch (format) {
    case 'table':
      return (await import('./report/table.js')).toTable(result, policy);
    case 'json':
      return `${JSON.stringify({ ...result, policy }, null, 2)}\n`;
    case 'sarif':
      return `${JSON.stringify((await import('./report/sarif.js')).toSarif(result, policy), null, 2)}\n`;
    case 'cyclonedx':
      return `${JSON.stringify((await import('./report/cyclonedx.js')).toCycloneDx(result, { vulnerabilities: result.vulnerabilitiesChecked, ...(now ? { now } : {}) }), null, 2)}\n`;
    case 'spdx':
      return `${JSON.stringify((await import('./report/spdx.js')).toSpdx(result, now ? { now } : {}), null, 2)}\n`;
  }
}

export async function runScan(options: RunScanOptions): Promise<ScanOutcome> {
  const cwd = options.cwd ?? process.cwd();
  const ignore = [...(options.ignore ?? [])];
  for (const file of options.ignoreFiles ?? []) {
    const path = resolve(cwd, file);
    ignore.push(...parseIgnoreRules(await readStructured(path), path));
  }
  const vex = [...(options.vex ?? [])];
  for (const file of options.vexFiles ?? []) {
    const path = resolve(cwd, file);
    vex.push(...parseOpenVex(await readStructured(path), path));
  }
  const { scanImage } = await import('./scanner.js');
  const scanOptions: ScanOptions = {};
  if (options.skipVulnerabilities) scanOptions.skipVulnerabilities = true;
  else scanOptions.db = resolve(cwd, options.db ?? defaultDbDir());
  if (options.limits) scanOptions.limits = options.limits;
  if (options.checks) scanOptions.checks = options.checks;
  if (options.registry) scanOptions.registry = options.registry;
  if (options.signal) scanOptions.signal = options.signal;
  // A `docker save` archive is read through a layout it is copied into once; the report still names it.
  const { asLayoutReference } = await import('../oci/docker-archive.js');
  const source = await asLayoutReference(options.image, {
    cwd,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const image =
    source.startsWith('oci:') && !source.startsWith('oci:/')
      ? `oci:${resolve(cwd, source.slice(4))}`
      : source;
  const result = await scanImage(image, scanOptions);
  result.image.ref = options.image;
  const policy = applyPolicy(result.vulnerabilities, result.checks, {
    failOn: options.failOn ?? DEFAULT_FAIL_ON,
    ignore,
    vex,
    ...(options.now ? { now: options.now } : {}),
  });
  const rendered: ScanOutcome['rendered'] = {};
  const files: string[] = [];
  for (const target of options.reports ?? []) {
    const text = await render(target.format, result, policy, options.now);
    if (target.path === undefined) {
      rendered[target.format] = text;
      continue;
    }
    const path = resolve(cwd, target.path);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
    files.push(path);
  }
  const exitCode = result.gaps.length > 0 ? 2 : policy.passed ? 0 : 1;
  const report: ScanReport = {
    image: options.image,
    digest: result.image.digest,
    passed: exitCode === 0,
    counts: policy.counts,
    files,
  };
  return { result, policy, report, rendered, exitCode };
}
