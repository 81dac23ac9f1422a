/**
 * Reads the pod specs out of a list of Kubernetes objects, whoever wrote them: checks run on rendered
 * objects and on hand-written ones alike, so nothing here trusts a field to be present.
 */
import type { Container, KubeObject, Labels, PodSpec } from './types.js';

/** A pod spec and where it sits in its object (`spec.template.spec` or, for a bare Pod, `spec`). */
export interface PodSite {
  object: KubeObject;
  /** JSON-path-like prefix of the pod spec inside the object. */
  at: string;
  spec: Partial<PodSpec> & {
    securityContext?: NonNullable<PodSpec['securityContext']> & {
      runAsUser?: number;
      runAsNonRoot?: boolean;
    };
  };
  labels: Labels;
  annotations: Labels;
  /** How many pods run it: replicas, or undefined for a DaemonSet (one per node). */
  replicas: number | undefined;
}

interface LooseTemplate {
  metadata?: { labels?: Labels; annotations?: Labels };
  spec?: PodSite['spec'];
}

const CONTROLLERS = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'];

export function podSites(objects: KubeObject[]): PodSite[] {
  const sites: PodSite[] = [];
  for (const object of objects) {
    const spec = object.spec as
      | (LooseTemplate['spec'] & { replicas?: number; template?: LooseTemplate; jobTemplate?: unknown })
      | undefined;
    if (object.kind === 'Pod' && spec) {
      sites.push({
        object,
        at: 'spec',
        spec,
        labels: object.metadata.labels ?? {},
        annotations: object.metadata.annotations ?? {},
        replicas: 1,
      });
    } else if (CONTROLLERS.includes(object.kind) && spec?.template?.spec) {
      sites.push({
        object,
        at: 'spec.template.spec',
        spec: spec.template.spec,
        labels: spec.template.metadata?.labels ?? {},
        annotations: spec.template.metadata?.annotations ?? {},
        replicas: object.kind === 'DaemonSet' ? undefined : (spec.replicas ?? 1),
      });
    }
  }
  return sites;
}

export function containersOf(site: PodSite): Array<{ container: Partial<Container>; at: string }> {
  return (site.spec.containers ?? []).map((container, i) => ({
    container,
    at: `${site.at}.containers[${i}]`,
  }));
}
