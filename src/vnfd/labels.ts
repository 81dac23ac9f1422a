/**
 * Labels that carry a VNFD's identity on an imported workload, so the workload says where it came from and
 * an export writes the same identity back.
 */
export const LABEL = {
  id: 'org.etsi.nfv.vnfd.id',
  provider: 'org.etsi.nfv.vnfd.provider',
  productName: 'org.etsi.nfv.vnfd.product-name',
  softwareVersion: 'org.etsi.nfv.vnfd.software-version',
  version: 'org.etsi.nfv.vnfd.version',
  flavour: 'org.etsi.nfv.vnfd.flavour',
  vdu: 'org.etsi.nfv.vnfd.vdu',
} as const;

export const VNFD_LABELS: ReadonlySet<string> = new Set(Object.values(LABEL));
