/**
 * The gate: a severity threshold, ignore rules (each with a reason, optionally an expiry — an expired rule
 * stops applying and is reported) and OpenVEX statements (`not_affected`/`fixed` suppress a finding for
 * the products they name).
 */
import { VnfpipeError } from '../errors.js';
import { type CheckFinding, SEVERITIES, SEVERITY_RANK, type Severity, type VulnFinding } from './model.js';

export type FailOn = Severity | 'none';

export interface IgnoreRule {
  /** A vulnerability id or alias (`CVE-2024-1234`, `DSA-5000-1`) or a check id (`root-user`). */
  id: string;
  /** Limit to one package name (binary or source) or a purl prefix. */
  package?: string;
  /** Limit a check rule to one path. */
  path?: string;
  reason: string;
  /** `YYYY-MM-DD`; the rule stops applying after that day (UTC). */
  expires?: string;
}

export interface VexStatement {
  vulnerability: string;
  products: string[];
  status: 'not_affected' | 'affected' | 'fixed' | 'under_investigation';
  justification?: string;
}

export interface PolicyOptions {
  failOn: FailOn;
  ignore?: IgnoreRule[];
  vex?: VexStatement[];
  now?: Date;
}

export interface PolicyResult {
  passed: boolean;
  counts: Record<Severity, number>;
  /** Findings at or above the threshold that were not suppressed. */
  failing: number;
  warnings: string[];
}

export function parseFailOn(value: string): FailOn {
  const v = value.toLowerCase();
  if (v === 'none' || (SEVERITIES as readonly string[]).includes(v)) return v as FailOn;
  throw new VnfpipeError('USAGE', `unknown severity ${JSON.stringify(value)}`, {
    hint: `use one of ${[...SEVERITIES, 'none'].join(', ')}`,
  });
}

/** Validates ignore rules read from a file or step options. */
export function parseIgnoreRules(value: unknown, where: string): IgnoreRule[] {
  const list = Array.isArray(value) ? value : (value as { ignore?: unknown } | null)?.ignore;
  if (!Array.isArray(list))
    throw new VnfpipeError('USAGE', 'ignore rules must be a list (or { ignore: [...] })', { where });
  return list.map((item, i) => {
    const at = `${where} ignore[${i}]`;
    if (typeof item !== 'object' || item === null)
      throw new VnfpipeError('USAGE', 'an ignore rule must be an object', { where: at });
    const r = item as Record<string, unknown>;
    if (typeof r.id !== 'string' || !r.id)
      throw new VnfpipeError('USAGE', 'ignore rule without an id', { where: at });
    if (typeof r.reason !== 'string' || !r.reason.trim()) {
      throw new VnfpipeError('USAGE', `ignore rule for ${r.id} has no reason`, {
        where: at,
        hint: 'say why it is safe to ignore',
      });
    }
    const rule: IgnoreRule = { id: r.id, reason: r.reason };
    if (r.package !== undefined) rule.package = String(r.package);
    if (r.path !== undefined) rule.path = String(r.path);
    if (r.expires !== undefined) {
      const text = r.expires instanceof Date ? r.expires.toISOString().slice(0, 10) : String(r.expires);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(Date.parse(`${text}T00:00:00Z`))) {
        throw new VnfpipeError(
          'USAGE',
          `ignore rule for ${r.id}: expires must be YYYY-MM-DD, got ${JSON.stringify(text)}`,
          { where: at },
        );
      }
      rule.expires = text;
    }
    return rule;
  });
}

/** Reads the statements of an OpenVEX document (v0.2.0, and v0.0.x's string forms). */
export function parseOpenVex(value: unknown, where: string): VexStatement[] {
  const doc = value as { statements?: unknown } | null;
  if (typeof doc !== 'object' || doc === null || !Array.isArray(doc.statements)) {
    throw new VnfpipeError('USAGE', 'not an OpenVEX document (no statements)', {
      where,
      hint: 'see openvex.dev for the format',
    });
  }
  return doc.statements.map((s, i) => {
    const at = `${where} statements[${i}]`;
    const st = s as Record<string, unknown>;
    const vuln =
      typeof st.vulnerability === 'string'
        ? st.vulnerability
        : (st.vulnerability as { name?: unknown } | undefined)?.name;
    if (typeof vuln !== 'string' || !vuln)
      throw new VnfpipeError('USAGE', 'statement without a vulnerability name', { where: at });
    const status = st.status;
    if (
      status !== 'not_affected' &&
      status !== 'affected' &&
      status !== 'fixed' &&
      status !== 'under_investigation'
    ) {
      throw new VnfpipeError('USAGE', `statement for ${vuln} has unknown status ${JSON.stringify(status)}`, {
        where: at,
      });
    }
    if (
      status === 'not_affected' &&
      typeof st.justification !== 'string' &&
      typeof st.impact_statement !== 'string'
    ) {
      throw new VnfpipeError(
        'USAGE',
        `not_affected statement for ${vuln} needs a justification or impact_statement`,
        { where: at },
      );
    }
    const products = (Array.isArray(st.products) ? st.products : []).map((p) =>
      typeof p === 'string' ? p : String((p as Record<string, unknown>)['@id'] ?? ''),
    );
    const out: VexStatement = { vulnerability: vuln, products: products.filter(Boolean), status };
    if (typeof st.justification === 'string') out.justification = st.justification;
    return out;
  });
}

/** A purl in a VEX product or ignore rule matches a package purl when it is equal or a less specific prefix. */
function purlMatches(pattern: string, purl: string): boolean {
  if (pattern === purl) return true;
  const base = purl.split('?')[0]!;
  if (pattern === base) return true;
  const noVersion = base.split('@')[0]!;
  return pattern === noVersion;
}

function expired(rule: IgnoreRule, now: Date): boolean {
  return rule.expires !== undefined && Date.parse(`${rule.expires}T23:59:59Z`) < now.getTime();
}

/** The ids of the rules that no longer apply at `now` (their expiry day has passed). */
export function expiredRules(rules: readonly IgnoreRule[], now: Date = new Date()): string[] {
  return rules.filter((rule) => expired(rule, now)).map((rule) => `${rule.id}@${rule.expires}`);
}

export function applyPolicy(
  findings: VulnFinding[],
  checks: CheckFinding[],
  options: PolicyOptions,
): PolicyResult {
  const now = options.now ?? new Date();
  const warnings: string[] = [];
  const rules: IgnoreRule[] = [];
  for (const rule of options.ignore ?? []) {
    if (expired(rule, now))
      warnings.push(`ignore rule for ${rule.id} expired on ${rule.expires}; it no longer applies`);
    else rules.push(rule);
  }
  for (const f of findings) {
    const ids = [f.id, ...f.aliases];
    const rule = rules.find(
      (r) =>
        ids.includes(r.id) &&
        (!r.package ||
          r.package === f.package.name ||
          f.package.source?.startsWith(`${r.package}@`) ||
          purlMatches(r.package, f.package.purl)),
    );
    if (rule) {
      f.suppressed = { by: 'ignore', reason: rule.reason };
      continue;
    }
    const vex = (options.vex ?? []).find(
      (s) =>
        ids.includes(s.vulnerability) &&
        (s.status === 'not_affected' || s.status === 'fixed') &&
        (s.products.length === 0 || s.products.some((p) => purlMatches(p, f.package.purl))),
    );
    if (vex)
      f.suppressed = {
        by: 'vex',
        reason: `VEX ${vex.status}${vex.justification ? `: ${vex.justification}` : ''}`,
      };
  }
  for (const c of checks) {
    const rule = rules.find(
      (r) => r.id === c.id && (!r.path || r.path === c.path || `/${r.path}` === c.path),
    );
    if (rule) c.suppressed = { by: 'ignore', reason: rule.reason };
  }
  const counts: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
  let failing = 0;
  const threshold = options.failOn === 'none' ? Number.POSITIVE_INFINITY : SEVERITY_RANK[options.failOn];
  for (const item of [...findings, ...checks]) {
    if (item.suppressed) continue;
    counts[item.severity]++;
    if (SEVERITY_RANK[item.severity] >= threshold) failing++;
  }
  return { passed: failing === 0, counts, failing, warnings };
}
