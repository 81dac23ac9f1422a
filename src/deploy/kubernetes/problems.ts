/** Collects every reason a workload cannot be rendered, so the user sees them all in one error. */
import { VnfpipeError } from '../../errors.js';

export class Problems {
  readonly list: string[] = [];

  add(problem: string): void {
    this.list.push(problem);
  }

  throwIfAny(workload: string): void {
    if (this.list.length === 0) return;
    throw new VnfpipeError(
      'PIPELINE_INVALID',
      `Kubernetes cannot express workload ${workload} as declared:\n${this.list.map((p) => `  - ${p}`).join('\n')}`,
      {
        where: `workload ${workload} (kubernetes render)`,
        hint: 'change the workload, or deploy it with the docker target, which supports these settings',
      },
    );
  }
}

/** RFC 1123 label: Service, Namespace and container names. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** RFC 1123 subdomain: most other object names (ConfigMap, NetworkAttachmentDefinition, …). */
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isDnsLabel(name: string): boolean {
  return name.length <= 63 && DNS_LABEL.test(name);
}

export function isDnsSubdomain(name: string): boolean {
  return name.length <= 253 && DNS_SUBDOMAIN.test(name);
}
