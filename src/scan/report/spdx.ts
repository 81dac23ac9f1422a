/** SPDX 2.3 JSON: the image as the described package, which CONTAINS every catalogued package. */
import { createHash } from 'node:crypto';
import type { ScanResult } from '../scanner.js';
import type { SbomOptions } from './cyclonedx.js';
import { isoSeconds, TOOL_NAME, toolVersion } from './tool.js';

function spdxId(text: string): string {
  return text.replace(/[^A-Za-z0-9.-]/g, '-');
}

export function toSpdx(result: ScanResult, options: SbomOptions = {}): Record<string, unknown> {
  const now = options.now ?? new Date();
  const imageId = 'SPDXRef-Image';
  const ids = new Set<string>([imageId]);
  const packages: Record<string, unknown>[] = [
    {
      SPDXID: imageId,
      name: result.image.ref,
      versionInfo: result.image.digest,
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      primaryPackagePurpose: 'CONTAINER',
    },
  ];
  if (result.image.digest.startsWith('sha256:')) {
    packages[0]!.checksums = [
      { algorithm: 'SHA256', checksumValue: result.image.digest.slice('sha256:'.length) },
    ];
  }
  const relationships: Record<string, unknown>[] = [
    { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: imageId },
  ];
  for (const p of result.packages) {
    let id = spdxId(`SPDXRef-Package-${p.type}-${p.name}-${p.version}`);
    for (let n = 2; ids.has(id); n++) id = spdxId(`SPDXRef-Package-${p.type}-${p.name}-${p.version}-${n}`);
    ids.add(id);
    const pkg: Record<string, unknown> = {
      SPDXID: id,
      name: p.name,
      versionInfo: p.version,
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      primaryPackagePurpose:
        p.type === 'golang' || p.type === 'npm' || p.type === 'pypi' ? 'LIBRARY' : 'INSTALL',
      externalRefs: [
        { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: p.purl },
      ],
      comment: `layer ${p.layer} ${p.layerDigest}; found in ${p.foundIn}`,
    };
    if (p.source && (p.source.name !== p.name || p.source.version !== p.version)) {
      pkg.sourceInfo = `built from source package ${p.source.name} ${p.source.version}`;
    }
    packages.push(pkg);
    relationships.push({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: id });
  }
  const hash = createHash('sha256')
    .update(`${result.image.digest}\n${now.toISOString()}`)
    .digest('hex')
    .slice(0, 16);
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: result.image.ref,
    documentNamespace: `https://spdx.org/spdxdocs/${TOOL_NAME}/${result.image.digest.replace(':', '-')}-${hash}`,
    creationInfo: { created: isoSeconds(now), creators: [`Tool: ${TOOL_NAME}-${toolVersion()}`] },
    packages,
    relationships,
  };
}
