/**
 * Labels on every rendered object: the workload's own, Kubernetes' recommended app.kubernetes.io/* set, and
 * vnfpipe's. Pods are selected by name and instance only: a selector cannot change after creation.
 */
import type { RegistryReference } from '../../oci/reference.js';
import { LABEL } from '../labels.js';
import type { Workload } from '../model.js';
import type { Problems } from './problems.js';
import type { Labels } from './types.js';

export const NAME_LABEL = 'app.kubernetes.io/name';
export const INSTANCE_LABEL = 'app.kubernetes.io/instance';
/** A label value: ≤ 63 of [A-Za-z0-9_.-], alphanumeric at both ends. */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

const isLabelValue = (value: string) => value.length <= 63 && LABEL_VALUE.test(value);

export function selectorLabels(workload: Pick<Workload, 'name'>): Labels {
  return { [NAME_LABEL]: workload.name, [INSTANCE_LABEL]: workload.name };
}

export function workloadLabels(
  workload: Workload,
  image: RegistryReference | undefined,
  problems: Problems,
): Labels {
  const labels: Labels = {};
  for (const [key, value] of Object.entries(workload.labels ?? {})) {
    if (!LABEL_KEY.test(key) || !isLabelValue(value)) {
      problems.add(`labels['${key}']: '${value}' is not a Kubernetes label (≤ 63 of letters, digits, '-_.')`);
    } else labels[key] = value;
  }
  Object.assign(labels, selectorLabels(workload), {
    'app.kubernetes.io/component': 'vnf',
    'app.kubernetes.io/managed-by': 'vnfpipe',
    [LABEL.workload]: workload.name,
    [LABEL.managed]: 'true',
  });
  if (image?.tag && image.tag !== 'latest' && isLabelValue(image.tag)) {
    labels['app.kubernetes.io/version'] = image.tag;
  }
  return labels;
}
