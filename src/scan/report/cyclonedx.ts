/** CycloneDX 1.6 JSON: the image as the described component, every package as a library with its purl. */
import { randomUUID } from 'node:crypto';
import type { Package, VulnFinding } from '../model.js';
import type { ScanResult } from '../scanner.js';
import { isoSeconds, TOOL_NAME, toolVersion } from './tool.js';

export interface SbomOptions {
  now?: Date;
  /** Include vulnerability findings (CycloneDX can carry them beside the components). */
  vulnerabilities?: boolean;
}

function bomRefs(packages: Package[]): string[] {
  const used = new Map<string, number>();
  return packages.map((p) => {
    const n = used.get(p.purl) ?? 0;
    used.set(p.purl, n + 1);
    return n === 0 ? p.purl : `${p.purl}#${n}`;
  });
}

const CDX_SEVERITY: Record<VulnFinding['severity'], string> = {
  critical: 'critical',
  high: 'high',
  medium: 'medium',
  low: 'low',
  unknown: 'unknown',
};

export function toCycloneDx(result: ScanResult, options: SbomOptions = {}): Record<string, unknown> {
  const now = options.now ?? new Date();
  const refs = bomRefs(result.packages);
  const imageRef = `image:${result.image.digest}`;
  const components: Record<string, unknown>[] = result.packages.map((p, i) => {
    const properties = [
      { name: 'vnfpipe:package:type', value: p.type },
      { name: 'vnfpipe:layer:index', value: String(p.layer) },
      { name: 'vnfpipe:layer:digest', value: p.layerDigest },
      { name: 'vnfpipe:found-in', value: p.foundIn },
    ];
    if (p.source) {
      properties.push(
        { name: 'vnfpipe:source:name', value: p.source.name },
        { name: 'vnfpipe:source:version', value: p.source.version },
      );
    }
    if (p.arch) properties.push({ name: 'vnfpipe:arch', value: p.arch });
    const c: Record<string, unknown> = {
      type: 'library',
      'bom-ref': refs[i],
      name: p.name,
      version: p.version,
      purl: p.purl,
    };
    if (p.licenses?.length) c.licenses = p.licenses.map((name) => ({ license: { name } }));
    c.properties = properties;
    return c;
  });
  if (result.image.os) {
    components.unshift({
      type: 'operating-system',
      'bom-ref': `os:${result.image.os.id}-${result.image.os.versionId ?? 'unknown'}`,
      name: result.image.os.id,
      ...(result.image.os.versionId ? { version: result.image.os.versionId } : {}),
      ...(result.image.os.prettyName ? { description: result.image.os.prettyName } : {}),
    });
  }
  const bom: Record<string, unknown> = {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: isoSeconds(now),
      tools: { components: [{ type: 'application', name: TOOL_NAME, version: toolVersion() }] },
      component: {
        type: 'container',
        'bom-ref': imageRef,
        name: result.image.ref,
        version: result.image.digest,
        properties: result.image.layers.map((l) => ({ name: `vnfpipe:layer:${l.index}`, value: l.digest })),
      },
    },
    components,
    dependencies: [{ ref: imageRef, dependsOn: components.map((c) => c['bom-ref'] as string) }],
  };
  if (options.vulnerabilities && result.vulnerabilities.length) {
    const refOf = new Map(result.packages.map((p, i) => [p.purl, refs[i]!]));
    bom.vulnerabilities = result.vulnerabilities.map((v, i) => {
      const out: Record<string, unknown> = {
        'bom-ref': `vuln-${i}`,
        id: v.id,
        ratings: [{ severity: CDX_SEVERITY[v.severity] }],
        affects: [{ ref: refOf.get(v.package.purl) ?? v.package.purl }],
      };
      if (v.summary) out.description = v.summary;
      if (v.aliases.length)
        out.references = v.aliases.map((id) => ({ id, source: { name: id.split('-')[0] } }));
      if (v.fixedVersion)
        out.recommendation = `upgrade ${v.package.source?.split('@')[0] ?? v.package.name} to ${v.fixedVersion}`;
      if (v.suppressed) {
        out.analysis = {
          state: v.suppressed.by === 'vex' ? 'not_affected' : 'false_positive',
          detail: v.suppressed.reason,
        };
      }
      return out;
    });
  }
  return bom;
}
