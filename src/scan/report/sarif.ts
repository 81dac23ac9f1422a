/**
 * SARIF 2.1.0: one rule per vulnerability id or check id, one result per affected package or file.
 * Locations are the file that revealed the finding (the package database, or the file itself), so code
 * scanning UIs can group them; suppressed findings carry SARIF suppressions rather than disappearing.
 */

import type { Severity } from '../model.js';
import type { PolicyResult } from '../policy.js';
import type { ScanResult } from '../scanner.js';
import { TOOL_NAME, TOOL_URI, toolVersion } from './tool.js';

/** The SARIF level of each severity (shared with the CNF checks' report, so both rank alike). */
export const SARIF_LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
  unknown: 'note',
};
/** GitHub reads `security-severity` (a CVSS-like number) to rank results. */
export const SARIF_SECURITY_SEVERITY: Record<Severity, string> = {
  critical: '9.5',
  high: '8.0',
  medium: '5.5',
  low: '2.0',
  unknown: '0.0',
};

export function toSarif(result: ScanResult, policy?: PolicyResult): Record<string, unknown> {
  const rules: Record<string, unknown>[] = [];
  const ruleIndex = new Map<string, number>();
  const rule = (id: string, text: string, severity: Severity, tags: string[]) => {
    let index = ruleIndex.get(id);
    if (index === undefined) {
      index = rules.length;
      ruleIndex.set(id, index);
      rules.push({
        id,
        shortDescription: { text: text || id },
        defaultConfiguration: { level: SARIF_LEVEL[severity] },
        properties: { 'security-severity': SARIF_SECURITY_SEVERITY[severity], tags },
      });
    }
    return index;
  };
  const results: Record<string, unknown>[] = [];
  for (const v of result.vulnerabilities) {
    const index = rule(v.id, v.summary, v.severity, ['security', 'vulnerability', v.ecosystem]);
    const fix = v.fixedVersion ? `fixed in ${v.fixedVersion}` : 'no fix available yet';
    const source = v.package.source ? ` (source ${v.package.source})` : '';
    const r: Record<string, unknown> = {
      ruleId: v.id,
      ruleIndex: index,
      level: SARIF_LEVEL[v.severity],
      message: { text: `${v.package.name} ${v.package.version}${source} is affected by ${v.id}: ${fix}` },
      locations: [
        {
          physicalLocation: {
            artifactLocation: {
              uri:
                result.packages.find((p) => p.purl === v.package.purl)?.foundIn.replace(/^\//, '') ??
                v.package.purl,
            },
          },
          logicalLocations: [{ name: v.package.purl, kind: 'package' }],
        },
      ],
      partialFingerprints: { 'vnfpipe/v1': `${v.id}|${v.package.purl}` },
      properties: {
        severity: v.severity,
        status: v.status,
        layer: v.layer,
        layerDigest: v.layerDigest,
        aliases: v.aliases,
      },
    };
    if (v.suppressed) r.suppressions = [{ kind: 'external', justification: v.suppressed.reason }];
    results.push(r);
  }
  for (const c of result.checks) {
    const index = rule(c.id, c.message, c.severity, ['security', 'image-check']);
    const r: Record<string, unknown> = {
      ruleId: c.id,
      ruleIndex: index,
      level: SARIF_LEVEL[c.severity],
      message: { text: c.path ? `${c.path}: ${c.message}` : c.message },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: c.path ? c.path.replace(/^\//, '') : 'image-config.json' },
          },
        },
      ],
      partialFingerprints: { 'vnfpipe/v1': `${c.id}|${c.path ?? ''}|${c.layer ?? ''}` },
      properties: {
        severity: c.severity,
        ...(c.layer !== undefined ? { layer: c.layer, layerDigest: c.layerDigest } : {}),
      },
    };
    if (c.suppressed) r.suppressions = [{ kind: 'external', justification: c.suppressed.reason }];
    results.push(r);
  }
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: TOOL_NAME, version: toolVersion(), informationUri: TOOL_URI, rules } },
        invocations: [
          {
            executionSuccessful: result.gaps.length === 0,
            toolExecutionNotifications: result.gaps.map((g) => ({
              level: 'error',
              message: { text: g.where ? `${g.what} (${g.where})` : g.what },
            })),
          },
        ],
        results,
        properties: {
          image: result.image.ref,
          digest: result.image.digest,
          ...(policy ? { passed: policy.passed } : {}),
        },
      },
    ],
  };
}
