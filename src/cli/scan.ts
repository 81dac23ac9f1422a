/**
 * `vnfpipe scan <ref>` and `vnfpipe db import|update|status`. Scan exit codes are the gate's: 0 clean,
 * 1 the policy failed, 2 the scan could not run or is partial — every error, expected or not, is 2 here,
 * so a crash can never pass for a clean scan or for a policy verdict.
 */
import { resolve } from 'node:path';
import { messageOf, VnfpipeError } from '../errors.js';
import { credentialsFromString } from '../registry/auth/credentials.js';

export interface CommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processIo: CommandIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

export interface ScanCommandOptions {
  format?: string;
  output?: string;
  db?: string;
  failOn?: string;
  /** Ignore-rule files (YAML or JSON). */
  ignore?: string[];
  /** OpenVEX documents. */
  vex?: string[];
  /** Also write an SBOM here (`.spdx.json` → SPDX, otherwise CycloneDX). */
  sbom?: string;
  /** Scan budget: most uncompressed bytes all layers may expand to (`32GiB`, `500MB`, bytes). */
  maxBytes?: string;
  /** Registry references: `user:password` (or a bare token) instead of the docker config. */
  creds?: string;
  /** Registry references: allow plain HTTP / unverified TLS off loopback. */
  insecure?: boolean;
  /** Registry references: extra CA bundle (PEM). */
  caFile?: string;
  cwd?: string;
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** `32GiB`, `500MB`, `1048576` → bytes. */
export function parseByteSize(text: string, where: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  const value = match && unit !== undefined ? Math.floor(Number(match[1]) * unit) : Number.NaN;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new VnfpipeError('USAGE', `invalid size ${JSON.stringify(text)}`, {
      where,
      hint: 'a positive number of bytes, optionally with a unit: 500MB, 32GiB',
    });
  }
  return value;
}

function errorText(error: unknown): string {
  return error instanceof VnfpipeError
    ? `vnfpipe: error: ${error.describe()}\n`
    : `vnfpipe: unexpected error: ${messageOf(error)}\n`;
}

export async function scanCommand(
  ref: string,
  opts: ScanCommandOptions = {},
  io: CommandIo = processIo,
): Promise<number> {
  try {
    // One import at a time (see scan/image/source.ts: Node 20's loader and concurrent imports).
    const { runScan, REPORT_FORMATS } = await import('../scan/run.js');
    const { parseFailOn } = await import('../scan/policy.js');
    const format = (opts.format ?? 'table') as (typeof REPORT_FORMATS)[number];
    if (!REPORT_FORMATS.includes(format)) {
      throw new VnfpipeError('USAGE', `unknown format ${JSON.stringify(opts.format)}`, {
        hint: `use one of ${REPORT_FORMATS.join(', ')}`,
      });
    }
    const sbomOnly = (format === 'cyclonedx' || format === 'spdx') && opts.db === undefined;
    const reports: Array<{ format: (typeof REPORT_FORMATS)[number]; path?: string }> = [
      opts.output ? { format, path: opts.output } : { format },
    ];
    if (opts.sbom)
      reports.push({ format: opts.sbom.endsWith('.spdx.json') ? 'spdx' : 'cyclonedx', path: opts.sbom });
    const registry = {
      ...(opts.insecure ? { insecure: true } : {}),
      ...(opts.caFile ? { caFile: resolve(opts.cwd ?? process.cwd(), opts.caFile) } : {}),
      ...(opts.creds ? { credentials: credentialsFromString(opts.creds) } : {}),
    };
    const outcome = await runScan({
      image: ref,
      registry,
      ...(opts.maxBytes !== undefined
        ? { limits: { maxTotalBytes: parseByteSize(opts.maxBytes, '--max-bytes') } }
        : {}),
      ...(opts.db !== undefined ? { db: opts.db } : {}),
      skipVulnerabilities: sbomOnly,
      failOn: parseFailOn(opts.failOn ?? 'high'),
      ignoreFiles: opts.ignore ?? [],
      vexFiles: opts.vex ?? [],
      reports,
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    });
    const text = outcome.rendered[format];
    if (text !== undefined) io.stdout(text);
    for (const gap of outcome.result.gaps)
      io.stderr(`vnfpipe: scan incomplete: ${gap.what}${gap.where ? ` (${gap.where})` : ''}\n`);
    for (const warning of outcome.policy.warnings) io.stderr(`vnfpipe: warning: ${warning}\n`);
    if (opts.output || format !== 'table') {
      const c = outcome.policy.counts;
      const verdict = outcome.exitCode === 2 ? 'INCOMPLETE' : outcome.exitCode === 1 ? 'FAILED' : 'PASSED';
      io.stderr(
        `vnfpipe: ${ref}: ${verdict} (${c.critical} critical, ${c.high} high, ${c.medium} medium, ${c.low} low, ${c.unknown} unknown)${opts.output ? `; report in ${opts.output}` : ''}\n`,
      );
    }
    return outcome.exitCode;
  } catch (error) {
    io.stderr(errorText(error));
    return 2;
  }
}

export interface DbCommandOptions {
  db?: string;
  json?: boolean;
}

async function dbDir(opts: DbCommandOptions): Promise<string> {
  const { defaultDbDir } = await import('../scan/run.js');
  return opts.db ?? defaultDbDir();
}

function failure(error: unknown, io: CommandIo): number {
  io.stderr(errorText(error));
  return error instanceof VnfpipeError ? error.exitCode : 1;
}

export async function dbImportCommand(
  paths: string[],
  opts: DbCommandOptions = {},
  io: CommandIo = processIo,
): Promise<number> {
  try {
    if (paths.length === 0)
      throw new VnfpipeError('USAGE', 'give at least one OSV directory, zip or JSON file');
    const { importOsv } = await import('../scan/db/store.js');
    const dir = await dbDir(opts);
    const result = await importOsv(dir, paths);
    if (opts.json) io.stdout(`${JSON.stringify({ db: dir, ...result }, null, 2)}\n`);
    else {
      const per = Object.entries(result.ecosystems)
        .map(([e, n]) => `${e}: ${n}`)
        .join(', ');
      io.stdout(
        `imported ${result.records} record(s) into ${dir}${per ? ` (${per})` : ''}${result.skipped.withdrawn ? `; ${result.skipped.withdrawn} withdrawn skipped` : ''}\n`,
      );
    }
    return 0;
  } catch (error) {
    return failure(error, io);
  }
}

export const OSV_BUCKET = 'https://osv-vulnerabilities.storage.googleapis.com';
export const DEFAULT_UPDATE_ECOSYSTEMS = ['Debian', 'Alpine', 'npm', 'PyPI', 'Go'];

export interface DbUpdateOptions extends DbCommandOptions {
  ecosystem?: string[];
  /** Milliseconds per download before giving up (default 120 s; connection failures are immediate). */
  timeoutMs?: number;
  /** Base URL of the OSV export bucket. */
  source?: string;
}

export async function dbUpdateCommand(
  opts: DbUpdateOptions = {},
  io: CommandIo = processIo,
): Promise<number> {
  try {
    const [{ importOsv }, { mkdtemp, writeFile, rm }, { tmpdir }, { join }] = await Promise.all([
      import('../scan/db/store.js'),
      import('node:fs/promises'),
      import('node:os'),
      import('node:path'),
    ]);
    const dir = await dbDir(opts);
    const base = (opts.source ?? process.env.VNFPIPE_OSV_URL ?? OSV_BUCKET).replace(/\/$/, '');
    const work = await mkdtemp(join(tmpdir(), 'vnfpipe-osv-'));
    try {
      const files: string[] = [];
      for (const ecosystem of opts.ecosystem?.length ? opts.ecosystem : DEFAULT_UPDATE_ECOSYSTEMS) {
        const url = `${base}/${encodeURIComponent(ecosystem)}/all.zip`;
        let response: Response;
        try {
          response = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000) });
        } catch (error) {
          const cause = (error as { cause?: { code?: string; message?: string } }).cause;
          throw new VnfpipeError(
            'IO',
            `cannot download the ${ecosystem} OSV export: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
            {
              where: url,
              hint: 'no network access to the OSV bucket? download all.zip elsewhere and run `vnfpipe db import <zip>`',
            },
          );
        }
        if (!response.ok) {
          throw new VnfpipeError(
            'IO',
            `downloading the ${ecosystem} OSV export failed: HTTP ${response.status}`,
            { where: url },
          );
        }
        const file = join(work, `${encodeURIComponent(ecosystem)}.zip`);
        await writeFile(file, Buffer.from(await response.arrayBuffer()));
        files.push(file);
        io.stderr(`downloaded ${ecosystem} (${url})\n`);
      }
      const result = await importOsv(dir, files);
      io.stdout(`updated ${dir}: ${result.records} record(s)\n`);
      return 0;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  } catch (error) {
    return failure(error, io);
  }
}

export async function dbStatusCommand(
  opts: DbCommandOptions = {},
  io: CommandIo = processIo,
): Promise<number> {
  try {
    const { readDbMeta } = await import('../scan/db/store.js');
    const dir = await dbDir(opts);
    const meta = await readDbMeta(dir);
    if (!meta) {
      throw new VnfpipeError('USAGE', 'no vulnerability database here', {
        where: dir,
        hint: 'create one with `vnfpipe db import <osv-dir-or-zip>`',
      });
    }
    const ageDays = (Date.now() - Date.parse(meta.updatedAt)) / 86_400_000;
    if (opts.json)
      io.stdout(`${JSON.stringify({ db: dir, ...meta, ageDays: Number(ageDays.toFixed(2)) }, null, 2)}\n`);
    else {
      io.stdout(
        `database: ${dir}\nupdated:  ${meta.updatedAt} (${ageDays < 1 ? 'today' : `${Math.floor(ageDays)} day(s) ago`})\nrecords:  ${meta.records}\n`,
      );
      for (const [ecosystem, n] of Object.entries(meta.ecosystems).sort())
        io.stdout(`  ${ecosystem.padEnd(16)} ${n}\n`);
      if (ageDays > 7) io.stderr('vnfpipe: warning: the database is more than a week old; update it\n');
    }
    return 0;
  } catch (error) {
    return failure(error, io);
  }
}
