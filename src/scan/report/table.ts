/** The human report: a summary line, vulnerabilities (fixed, then unfixed), image checks, gaps. */

import { SEVERITY_RANK } from '../model.js';
import type { PolicyResult } from '../policy.js';
import type { ScanResult } from '../scanner.js';

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, col) => cell.padEnd(widths[col]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function toTable(result: ScanResult, policy: PolicyResult): string {
  const lines: string[] = [];
  const os = result.image.os?.prettyName ?? result.image.os?.id ?? 'unknown OS';
  lines.push(`${result.image.ref} (${result.image.digest})`);
  lines.push(`${os}, ${result.image.layers.length} layer(s), ${result.packages.length} package(s)`);
  const bySeverity = (
    a: { severity: keyof typeof SEVERITY_RANK },
    b: { severity: keyof typeof SEVERITY_RANK },
  ) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity];
  for (const status of ['fixed', 'unfixed'] as const) {
    const vulns = result.vulnerabilities.filter((v) => v.status === status && !v.suppressed).sort(bySeverity);
    if (!vulns.length) continue;
    lines.push(
      '',
      status === 'fixed'
        ? `Vulnerabilities with a fix (${vulns.length})`
        : `Vulnerabilities without a fix yet (${vulns.length})`,
    );
    const rows = [['SEVERITY', 'ID', 'PACKAGE', 'VERSION', 'FIXED IN', 'SOURCE', 'LAYER']];
    for (const v of vulns) {
      rows.push([
        v.severity.toUpperCase(),
        v.id,
        v.package.name,
        v.package.version,
        v.fixedVersion ?? '-',
        v.package.source ?? '-',
        String(v.layer),
      ]);
    }
    lines.push(table(rows));
  }
  const checks = result.checks.filter((c) => !c.suppressed).sort(bySeverity);
  if (checks.length) {
    lines.push('', `Image checks (${checks.length})`);
    const rows = [['SEVERITY', 'CHECK', 'PATH', 'LAYER', 'DETAIL']];
    for (const c of checks)
      rows.push([
        c.severity.toUpperCase(),
        c.id,
        c.path ?? '-',
        c.layer === undefined ? '-' : String(c.layer),
        c.message,
      ]);
    lines.push(table(rows));
  }
  const suppressed = [...result.vulnerabilities, ...result.checks].filter((f) => f.suppressed);
  if (suppressed.length) lines.push('', `${suppressed.length} finding(s) suppressed by ignore rules or VEX`);
  for (const w of policy.warnings) lines.push(`warning: ${w}`);
  if (result.gaps.length) {
    lines.push('', 'The scan is INCOMPLETE:');
    for (const g of result.gaps) lines.push(`  - ${g.what}${g.where ? ` (${g.where})` : ''}`);
  }
  const c = policy.counts;
  lines.push(
    '',
    `Total: ${c.critical} critical, ${c.high} high, ${c.medium} medium, ${c.low} low, ${c.unknown} unknown` +
      (result.vulnerabilitiesChecked ? '' : ' (vulnerabilities not checked)'),
  );
  lines.push(
    result.gaps.length
      ? 'Result: INCOMPLETE'
      : policy.passed
        ? 'Result: PASSED'
        : `Result: FAILED (${policy.failing} finding(s) at or above the threshold)`,
  );
  return `${lines.join('\n')}\n`;
}
