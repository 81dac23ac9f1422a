/**
 * OSV records (ossf.github.io/osv-schema): validated on import into the compact form the store keeps per
 * affected package — id, aliases, summary, a severity, and the version ranges.
 */
import { VnfpipeError } from '../../errors.js';
import type { Severity } from '../model.js';
import { cvss3BaseScore, ratingOfScore } from './cvss.js';

export type OsvEvent =
  | { introduced: string }
  | { fixed: string }
  | { last_affected: string }
  | { limit: string };

export interface OsvRange {
  type: 'ECOSYSTEM' | 'SEMVER';
  events: OsvEvent[];
}

/** One record's view of one affected package, as stored. */
export interface StoredAdvisory {
  id: string;
  aliases: string[];
  summary: string;
  severity: Severity;
  ranges: OsvRange[];
  versions?: string[];
}

export interface ParsedOsv {
  id: string;
  modified: string;
  withdrawn: boolean;
  affected: Array<{ ecosystem: string; name: string; advisory: StoredAdvisory }>;
}

function bad(message: string, where: string): VnfpipeError {
  return new VnfpipeError('SCAN_DATA', `invalid OSV record: ${message}`, {
    where,
    hint: 'records must follow the OSV schema (ossf.github.io/osv-schema)',
  });
}

function str(value: unknown, path: string, where: string, max = 4096): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max)
    throw bad(`${path} must be a non-empty string`, where);
  return value;
}

function optStr(value: unknown, path: string, where: string, max = 65536): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length > max) throw bad(`${path} must be a string`, where);
  return value;
}

function arr(value: unknown, path: string, where: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw bad(`${path} must be an array`, where);
  return value;
}

function obj(value: unknown, path: string, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw bad(`${path} must be an object`, where);
  return value as Record<string, unknown>;
}

const WORD_SEVERITY: Record<string, Severity> = {
  critical: 'critical',
  high: 'high',
  important: 'high',
  moderate: 'medium',
  medium: 'medium',
  low: 'low',
  negligible: 'low',
  unimportant: 'low',
};

/**
 * The record's severity for this package: the distro's own urgency first (it judges its build, e.g. Debian's
 * "unimportant"), then the worst CVSS v3 vector, then words (GHSA's database_specific.severity).
 */
function severityOf(record: Record<string, unknown>, affected: Record<string, unknown>): Severity {
  const word = (o: unknown): Severity | undefined => {
    if (typeof o !== 'object' || o === null) return undefined;
    for (const key of ['urgency', 'severity']) {
      const value = (o as Record<string, unknown>)[key];
      if (typeof value === 'string') {
        const sev = WORD_SEVERITY[value.toLowerCase().replace(/\*$/, '')];
        if (sev) return sev;
      }
    }
    return undefined;
  };
  const distro = word(affected.ecosystem_specific);
  if (distro) return distro;
  const vectors: unknown[] = [
    ...arr(record.severity, '$.severity', ''),
    ...arr(affected.severity, 'severity', ''),
  ];
  let best: number | undefined;
  for (const item of vectors) {
    if (typeof item !== 'object' || item === null) continue;
    const { type, score } = item as { type?: unknown; score?: unknown };
    if (type === 'CVSS_V3' && typeof score === 'string') {
      const value = cvss3BaseScore(score);
      if (value !== undefined) best = Math.max(best ?? 0, value);
    }
  }
  if (best !== undefined) return ratingOfScore(best);
  return word(affected.database_specific) ?? word(record.database_specific) ?? 'unknown';
}

function parseEvents(value: unknown, path: string, where: string): OsvEvent[] {
  return arr(value, path, where).map((e, i) => {
    const o = obj(e, `${path}[${i}]`, where);
    const keys = Object.keys(o);
    const key = keys[0];
    if (
      keys.length !== 1 ||
      (key !== 'introduced' && key !== 'fixed' && key !== 'last_affected' && key !== 'limit')
    ) {
      throw bad(`${path}[${i}] must have exactly one of introduced, fixed, last_affected, limit`, where);
    }
    return { [key]: str(o[key], `${path}[${i}].${key}`, where, 256) } as OsvEvent;
  });
}

/** Validates a record; `where` names the file it came from. */
export function parseOsvRecord(value: unknown, where: string): ParsedOsv {
  const record = obj(value, '$', where);
  const id = str(record.id, '$.id', where, 256);
  const modified = str(record.modified, '$.modified', where, 64);
  const aliases = arr(record.aliases, '$.aliases', where).map((a, i) =>
    str(a, `$.aliases[${i}]`, where, 256),
  );
  const summary =
    optStr(record.summary, '$.summary', where) ??
    optStr(record.details, '$.details', where)?.split('\n')[0]?.slice(0, 200) ??
    '';
  const out: ParsedOsv = {
    id,
    modified,
    withdrawn: record.withdrawn !== undefined && record.withdrawn !== null,
    affected: [],
  };
  arr(record.affected, '$.affected', where).forEach((a, i) => {
    const path = `$.affected[${i}]`;
    const affected = obj(a, path, where);
    if (affected.package === undefined) return; // affects only a git repository: nothing to match by package
    const pkg = obj(affected.package, `${path}.package`, where);
    const ecosystem = str(pkg.ecosystem, `${path}.package.ecosystem`, where, 128);
    const name = str(pkg.name, `${path}.package.name`, where, 512);
    const ranges: OsvRange[] = [];
    arr(affected.ranges, `${path}.ranges`, where).forEach((r, j) => {
      const range = obj(r, `${path}.ranges[${j}]`, where);
      const type = str(range.type, `${path}.ranges[${j}].type`, where, 32);
      const events = parseEvents(range.events, `${path}.ranges[${j}].events`, where);
      if (type === 'ECOSYSTEM' || type === 'SEMVER') ranges.push({ type, events });
      else if (type !== 'GIT')
        throw bad(`${path}.ranges[${j}].type ${JSON.stringify(type)} is unknown`, where);
    });
    const versions = arr(affected.versions, `${path}.versions`, where).map((v, j) =>
      str(v, `${path}.versions[${j}]`, where, 256),
    );
    const advisory: StoredAdvisory = { id, aliases, summary, severity: severityOf(record, affected), ranges };
    if (versions.length) advisory.versions = versions;
    out.affected.push({ ecosystem, name, advisory });
  });
  return out;
}
