/**
 * The `scan` pipeline step: SBOM, vulnerabilities and image checks with a policy gate. Only types are
 * imported here; the scanner loads inside `run`, so declaring a scan costs nothing at `vnfpipe plan`.
 */
import { VnfpipeError } from '../errors.js';
import type { ImageRef, ScanReport } from '../pipeline/kinds.js';
import type { Input, StepSpec } from '../pipeline/model.js';
import type { Severity } from './model.js';
import type { IgnoreRule } from './policy.js';

export interface ScanStepOptions {
  /** The image: a build step's output, or `oci:<dir>[:ref]`. */
  image: Input<ImageRef> | Input<string>;
  /**
   * Fail the step on findings at or above this severity (`none` never fails on findings).
   * @default 'high'
   */
  failOn?: Severity | 'none';
  /** Vulnerability database directory (default $VNFPIPE_DB_DIR or ~/.cache/vnfpipe/osv). */
  db?: string;
  /** Write an SBOM. */
  sbom?: { format: 'cyclonedx' | 'spdx'; path: string };
  /** Extra reports (SARIF for code scanning, JSON). */
  reports?: Array<{ format: 'json' | 'sarif' | 'table'; path: string }>;
  /** Ignore rules (each with a reason, optionally an expiry), or a YAML/JSON file of them. */
  ignore?: IgnoreRule[] | string;
  /** OpenVEX documents. */
  vex?: string | string[];
  /** Most bytes all layers may expand to before the scan is refused (default 32 GiB). */
  maxBytes?: number;
}

const SEVERITY_NAMES = ['critical', 'high', 'medium', 'low', 'unknown', 'none'];

/**
 * A step that scans an image (packages, vulnerabilities from the local OSV database, image checks) and
 * fails on findings at or above `failOn`; its output is a `ScanReport` (the SBOM a later `attest` takes).
 *
 * @example
 * ```ts
 * p.step('scan', scan({ image: img.out, failOn: 'high', sbom: { format: 'cyclonedx', path: 'out/sbom.json' } }));
 * ```
 * @see {@link runScan} for the same scan from a script, and `vnfpipe db import` to fill the database.
 */
export function scan(options: ScanStepOptions): StepSpec<ScanReport, ScanStepOptions> {
  return {
    kind: 'scan',
    stage: 'scan',
    options,
    validate(opts) {
      if (!opts || opts.image === undefined || opts.image === null) {
        throw new VnfpipeError('PIPELINE_INVALID', "scan: 'image' is required");
      }
      if (opts.failOn !== undefined && !SEVERITY_NAMES.includes(opts.failOn)) {
        throw new VnfpipeError(
          'PIPELINE_INVALID',
          `scan: failOn must be one of ${SEVERITY_NAMES.join(', ')}`,
        );
      }
      if (opts.sbom && opts.sbom.format !== 'cyclonedx' && opts.sbom.format !== 'spdx') {
        throw new VnfpipeError('PIPELINE_INVALID', "scan: sbom.format must be 'cyclonedx' or 'spdx'");
      }
      if (opts.maxBytes !== undefined && !(Number.isSafeInteger(opts.maxBytes) && opts.maxBytes > 0)) {
        throw new VnfpipeError('PIPELINE_INVALID', 'scan: maxBytes must be a positive whole number of bytes');
      }
      if (Array.isArray(opts.ignore)) {
        for (const rule of opts.ignore) {
          if (!rule?.reason?.trim())
            throw new VnfpipeError('PIPELINE_INVALID', `scan: ignore rule ${rule?.id ?? '?'} needs a reason`);
        }
      }
    },
    cacheOutputs(output) {
      return output.files;
    },
    async run(ctx, opts) {
      const { runScan } = await import('./run.js');
      const image = opts.image as ImageRef | string;
      const ref = typeof image === 'string' ? image : image.ref;
      const reports: Array<{ format: 'json' | 'sarif' | 'table' | 'cyclonedx' | 'spdx'; path: string }> = [
        ...(opts.reports ?? []),
      ];
      if (opts.sbom) reports.push(opts.sbom);
      const vexFiles = opts.vex === undefined ? [] : Array.isArray(opts.vex) ? opts.vex : [opts.vex];
      ctx.log(`scanning ${ref}`);
      const outcome = await runScan({
        image: ref,
        ...(opts.db ? { db: opts.db } : ctx.env.VNFPIPE_DB_DIR ? { db: ctx.env.VNFPIPE_DB_DIR } : {}),
        failOn: opts.failOn ?? 'high',
        ...(typeof opts.ignore === 'string'
          ? { ignoreFiles: [opts.ignore] }
          : opts.ignore
            ? { ignore: opts.ignore }
            : {}),
        vexFiles,
        ...(opts.maxBytes ? { limits: { maxTotalBytes: opts.maxBytes } } : {}),
        reports: [...reports, { format: 'table' }],
        cwd: ctx.cwd,
        signal: ctx.signal,
      });
      for (const line of (outcome.rendered.table ?? '').trimEnd().split('\n')) ctx.log(line);
      if (typeof image !== 'string' && image.digest && image.digest !== outcome.result.image.digest) {
        ctx.log(
          `note: scanned manifest ${outcome.result.image.digest} (the step input names ${image.digest})`,
          'warn',
        );
      }
      if (outcome.exitCode === 2) {
        throw new VnfpipeError(
          'STEP_FAILED',
          `scan of ${ref} is incomplete: ${outcome.result.gaps.map((g) => g.what).join('; ')}`,
          {
            where: ref,
            hint: 'an incomplete scan is never reported as clean; fix the gaps above',
          },
        );
      }
      if (outcome.exitCode === 1) {
        throw new VnfpipeError(
          'STEP_FAILED',
          `scan policy failed: ${outcome.policy.failing} finding(s) at or above ${opts.failOn ?? 'high'}`,
          {
            where: ref,
            hint: outcome.report.files.length
              ? `reports: ${outcome.report.files.join(', ')}`
              : 'add ignore rules with a reason, or VEX statements, for accepted findings',
          },
        );
      }
      return outcome.report;
    },
  };
}
