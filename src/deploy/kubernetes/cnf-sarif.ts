/**
 * CNF check findings as SARIF 2.1.0, beside the scan's report: one rule per check, one result per
 * finding, located in the manifest file and, logically, at the object's field. Waived findings carry a
 * SARIF suppression with the reason instead of disappearing.
 */
import { SARIF_LEVEL, SARIF_SECURITY_SEVERITY } from '../../scan/report/sarif.js';
import { TOOL_NAME, TOOL_URI, toolVersion } from '../../scan/report/tool.js';
import { CNF_CHECKS, type CnfFinding } from './cnf-catalog.js';

export interface CnfSarifOptions {
  /** The manifest file the objects were written to (relative to the repository). Default `kubernetes.yaml`. */
  artifactUri?: string;
}

export function cnfFindingsToSarif(
  findings: CnfFinding[],
  options: CnfSarifOptions = {},
): Record<string, unknown> {
  const uri = options.artifactUri ?? 'kubernetes.yaml';
  const ids = [...new Set(findings.map((f) => f.id))];
  const rules = ids.map((id) => ({
    id,
    shortDescription: { text: CNF_CHECKS[id].title },
    defaultConfiguration: { level: SARIF_LEVEL[CNF_CHECKS[id].severity] },
    properties: {
      'security-severity': SARIF_SECURITY_SEVERITY[CNF_CHECKS[id].severity],
      tags: ['security', 'cnf'],
    },
  }));
  const results = findings.map((finding) => {
    const object = [finding.object.kind, finding.object.namespace, finding.object.name]
      .filter(Boolean)
      .join('/');
    return {
      ruleId: finding.id,
      ruleIndex: ids.indexOf(finding.id),
      level: SARIF_LEVEL[finding.severity],
      message: { text: finding.message },
      locations: [
        {
          physicalLocation: { artifactLocation: { uri } },
          logicalLocations: [{ fullyQualifiedName: `${object}:${finding.path}`, kind: 'object' }],
        },
      ],
      partialFingerprints: { 'vnfpipe/v1': `${finding.id}|${object}|${finding.path}` },
      properties: { severity: finding.severity, object: finding.object, path: finding.path },
      ...(finding.suppressed
        ? { suppressions: [{ kind: 'external', justification: finding.suppressed.reason }] }
        : {}),
    };
  });
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: TOOL_NAME, version: toolVersion(), informationUri: TOOL_URI, rules } },
        results,
      },
    ],
  };
}
