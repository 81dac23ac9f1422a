/**
 * The `scan` pipeline step: SBOM, vulnerabilities and image checks with a policy gate. Only types are
 * imported here; the scanner loads inside `run`, so declaring a scan costs nothing at `vnfpipe plan`.
 */
import { join, resolve } from 'node:path';
import { VnfpipeError } from '../errors.js';
import { imageContentFiles } from '../oci/content-files.js';
import type { ImageRef, ScanReport } from '../pipeline/kinds.js';
import type { Input, StepSpec } from '../pipeline/model.js';
import { DB_STAMP_FILE, defaultDbDir } from './db/location.js';
import type { Severity } from './model.js';
import type { IgnoreRule } from './policy.js';
import { readStructured } from './structured-file.js';

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
 * Part of the step cache's key besides vnfpipe's version: raise it when a change to matching, checks or
 * reports must make cached scans run again within one version.
 */
const SCAN_CACHE_REVISION = 1;

function dbDirOf(db: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  return db ?? defaultDbDir(env);
}

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
    // Keyed by the image's digest (the step's input), the options, the database's stamp file, the files of
    // ignore rules and VEX statements, the scanner's version and which ignore rules have expired by now.
    async cacheInputs(opts, ctx) {
      const files = imageContentFiles(opts.image as ImageRef | string);
      if (!files) return undefined;
      files.push(join(dbDirOf(opts.db, ctx.env), DB_STAMP_FILE));
      if (typeof opts.ignore === 'string') files.push(opts.ignore);
      for (const vex of opts.vex === undefined ? [] : [opts.vex].flat()) files.push(vex);
      const { packageVersion } = await import('../package-root.js');
      const values: Record<string, unknown> = {
        'scanner version': `${packageVersion()}+${SCAN_CACHE_REVISION}`,
      };
      if (opts.ignore !== undefined) {
        const { expiredRules, parseIgnoreRules } = await import('./policy.js');
        let rules: IgnoreRule[] | string = [];
        if (Array.isArray(opts.ignore)) rules = opts.ignore;
        else if (typeof opts.ignore === 'string') {
          // Unreadable here means the scan fails on it: run it, so it says why.
          rules = await readStructured(resolve(ctx.cwd, opts.ignore))
            .then((value) => parseIgnoreRules(value, opts.ignore as string))
            .catch(() => 'unreadable');
        }
        values['set of expired ignore rules'] = typeof rules === 'string' ? rules : expiredRules(rules);
      }
      return { files, values };
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
        db: dbDirOf(opts.db, ctx.env),
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
