/**
 * Validation of rendered objects: the Kubernetes schemas through kubernetes-models (types and formats such
 * as quantities), and, for NetworkAttachmentDefinitions (a CRD it does not know), a JSON schema per CNI
 * plugin for the fields its documentation requires.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type {
  KubeObject,
  NetworkAttachmentDefinition,
  PodSpec,
  ServiceObject,
  WorkloadObject,
} from '../../../src/deploy/kubernetes/index.ts';

// biome-ignore lint/suspicious/noExplicitAny: each model class takes its own interface; the kind picks it
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  Namespace,
  ServiceAccount,
  ConfigMap,
  Service,
  PodDisruptionBudget,
  Deployment,
  StatefulSet,
  DaemonSet,
};

const IFNAME = { type: 'string', minLength: 1, maxLength: 15, pattern: '^[^/\\s:]+$' };
const common = {
  cniVersion: { type: 'string', pattern: '^\\d+\\.\\d+\\.\\d+$' },
  // The CNI spec's network name grammar.
  name: { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$' },
  ipam: {
    type: 'object',
    properties: { type: { const: 'static' } },
    additionalProperties: false,
  },
  capabilities: {
    type: 'object',
    properties: { ips: { type: 'boolean' }, mac: { type: 'boolean' } },
    additionalProperties: false,
  },
};
/** Static IPAM without addresses in the config takes them from runtime `ips`, so it must ask for them. */
const staticNeedsIps = {
  if: { properties: { ipam: { type: 'object', required: ['type'] } } },
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword
  then: { required: ['capabilities'], properties: { capabilities: { type: 'object', required: ['ips'] } } },
};
function plugin(type: string, properties: Record<string, unknown>, required: string[], extra = {}) {
  return {
    type: 'object',
    properties: { ...common, type: { const: type }, ...properties },
    required: ['cniVersion', 'name', 'type', 'ipam', ...required],
    additionalProperties: false,
    ...staticNeedsIps,
    ...extra,
  };
}
/**
 * Of the reference plugins only macvlan (and tuning) read the runtime `mac`; ipvlan interfaces share the
 * parent's MAC, and bridge ignores it. sriov-cni reads it too.
 */
const noMac = {
  not: { properties: { capabilities: { type: 'object', required: ['mac'] } }, required: ['capabilities'] },
};
const CNI_SCHEMAS: Record<string, object> = {
  macvlan: plugin('macvlan', { master: IFNAME, mode: { enum: ['bridge', 'private', 'vepa', 'passthru'] } }, [
    'master',
  ]),
  ipvlan: plugin('ipvlan', { master: IFNAME, mode: { enum: ['l2', 'l3', 'l3s'] } }, ['master'], noMac),
  bridge: plugin('bridge', { bridge: IFNAME }, ['bridge'], noMac),
  // sriov takes its device from the device plugin (deviceID injected by Multus): no master.
  sriov: plugin('sriov', {}, []),
  // tuning changes an interface an earlier plugin made; here only its MAC, from the runtime `mac`.
  tuning: {
    type: 'object',
    properties: {
      cniVersion: common.cniVersion,
      name: common.name,
      type: { const: 'tuning' },
      capabilities: {
        type: 'object',
        properties: { mac: { const: true } },
        required: ['mac'],
        additionalProperties: false,
      },
    },
    required: ['cniVersion', 'name', 'type', 'capabilities'],
    additionalProperties: false,
  },
};
/** A configuration list: libcni gives every plugin the list's cniVersion and name. */
const LIST_SCHEMA = {
  type: 'object',
  properties: {
    cniVersion: common.cniVersion,
    name: common.name,
    plugins: { type: 'array', minItems: 1, items: { type: 'object', required: ['type'] } },
  },
  required: ['cniVersion', 'name', 'plugins'],
  additionalProperties: false,
};
const NAD_SCHEMA = {
  type: 'object',
  properties: {
    apiVersion: { const: 'k8s.cni.cncf.io/v1' },
    kind: { const: 'NetworkAttachmentDefinition' },
    metadata: {
      type: 'object',
      properties: {
        name: {
          type: 'string',
          maxLength: 253,
          pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
        },
        namespace: { type: 'string' },
      },
      required: ['name', 'namespace'],
    },
    spec: {
      type: 'object',
      properties: { config: { type: 'string' } },
      required: ['config'],
      additionalProperties: false,
    },
  },
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  additionalProperties: false,
};

let compiled:
  | { nad: ValidateFunction; list: ValidateFunction; cni: Record<string, ValidateFunction> }
  | undefined;
function validators() {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: true });
    compiled = {
      nad: ajv.compile(NAD_SCHEMA),
      list: ajv.compile(LIST_SCHEMA),
      cni: Object.fromEntries(
        Object.entries(CNI_SCHEMAS).map(([type, schema]) => [type, ajv.compile(schema)]),
      ),
    };
  }
  return compiled;
}

/** Throws with the schema's complaints when the CNI configuration of a definition is not valid. */
export function validateNad(object: KubeObject): void {
  const { nad, list, cni } = validators();
  const fail = (what: unknown) => new Error(`${object.metadata.name}: ${JSON.stringify(what)}`);
  // Not through the type guard: a failed guard would narrow `object` to never.
  const valid: boolean = nad(object);
  if (!valid) throw fail(nad.errors);
  const config = JSON.parse((object as NetworkAttachmentDefinition).spec.config) as {
    cniVersion: string;
    name: string;
    type?: string;
    plugins?: Array<{ type: string }>;
  };
  let plugins: Array<{ type?: string }> = [config];
  if (config.plugins !== undefined) {
    const validList: boolean = list(config);
    if (!validList) throw fail(list.errors);
    plugins = config.plugins.map((plugin) => ({
      cniVersion: config.cniVersion,
      name: config.name,
      ...plugin,
    }));
  }
  plugins.forEach((plugin, i) => {
    const check = cni[plugin.type ?? ''];
    if (!check) throw fail(`no schema for CNI plugin type '${plugin.type}'`);
    if (!check(plugin)) throw fail(check.errors);
    if (plugin.type === 'tuning' && i === 0)
      throw fail('tuning needs an earlier plugin to make the interface');
  });
  if (plugins[0]?.type === 'sriov' && !object.metadata.annotations?.['k8s.v1.cni.cncf.io/resourceName']) {
    throw fail('an sriov definition needs the resourceName annotation');
  }
}

/** Validates every object against its kind's schema, then the API server's own rules; throws naming what fails. */
export function validateAll(objects: KubeObject[]): void {
  for (const object of objects) {
    if (object.kind === 'NetworkAttachmentDefinition') {
      validateNad(object);
      continue;
    }
    const Model = MODELS[object.kind];
    if (!Model) throw new Error(`no schema for kind ${object.kind}`);
    try {
      new Model(structuredClone(object)).validate();
    } catch (error) {
      throw new Error(`${object.kind}/${object.metadata.name}: ${(error as Error).message}`);
    }
  }
  const violations = apiServerViolations(objects);
  if (violations.length) throw new Error(violations.join('\n'));
}

export function find<T extends KubeObject = KubeObject>(
  objects: KubeObject[],
  kind: string,
  name?: string,
): T {
  const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (!found)
    throw new Error(`no ${kind}${name ? `/${name}` : ''} among ${objects.map((o) => o.kind).join(', ')}`);
  return found as T;
}

export function workloadOf(objects: KubeObject[]): WorkloadObject {
  const found = objects.find((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind));
  if (!found) throw new Error('no workload object');
  return found as WorkloadObject;
}

export const DIGEST = `sha256:${'ab'.repeat(32)}`;
export const IMAGE = `registry.example:5000/vnf/vfw:1.4.2@${DIGEST}`;

/** The official SARIF 2.1.0 schema the scan tests vendor (draft-04: its `id` becomes Ajv's `$id`). */
export function sarifValidator(): ValidateFunction {
  const path = new URL('../../scan/fixtures/schemas/sarif-2.1.0.schema.json', import.meta.url);
  const {
    id,
    $schema: _draft04,
    ...schema
  } = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  // ajv-formats is CommonJS: its default export arrives wrapped under NodeNext.
  (addFormatsModule as unknown as (instance: Ajv) => Ajv)(ajv);
  return ajv.compile({ ...schema, $id: String(id) });
}

/**
 * The pod's QoS class by the kubelet's rule: Guaranteed when every container limits cpu and memory and
 * requests exactly that (requests default to limits); BestEffort when nothing asks for cpu or memory.
 */
export function qosClass(spec: PodSpec): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const compute = ['cpu', 'memory'];
  const containers = spec.containers;
  const asks = containers.some((c) =>
    compute.some((r) => c.resources?.requests?.[r] !== undefined || c.resources?.limits?.[r] !== undefined),
  );
  if (!asks) return 'BestEffort';
  const guaranteed = containers.every((c) =>
    compute.every((r) => {
      const limit = c.resources?.limits?.[r];
      const request = c.resources?.requests?.[r] ?? limit;
      return limit !== undefined && request === limit;
    }),
  );
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
/** IANA service names: ≤ 15 of lower-case letters, digits and single hyphens, at least one letter. */
const PORT_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?!-))*[a-z0-9]$/;

/**
 * Rules the API server enforces that the OpenAPI schemas do not state: object, label and port names, and
 * hugepages and device resources requested exactly as limited. Returns every violation.
 */
export function apiServerViolations(objects: KubeObject[]): string[] {
  const out: string[] = [];
  for (const object of objects) {
    const at = `${object.kind}/${object.metadata.name}`;
    const { name } = object.metadata;
    const labelNamed = ['Service', 'Namespace'].includes(object.kind);
    if (
      labelNamed
        ? !(name.length <= 63 && DNS_LABEL.test(name))
        : !(name.length <= 253 && DNS_SUBDOMAIN.test(name))
    ) {
      out.push(`${at}: invalid name`);
    }
    const labelSets = [object.metadata.labels ?? {}];
    const template = (object as Partial<WorkloadObject>).spec?.template;
    if (template) labelSets.push(template.metadata.labels);
    for (const labels of labelSets) {
      for (const [key, value] of Object.entries(labels)) {
        const [prefix, keyName] = key.includes('/') ? key.split('/') : [undefined, key];
        if (prefix !== undefined && !(prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix)))
          out.push(`${at}: label ${key}`);
        if (!(keyName!.length <= 63 && QUALIFIED_NAME.test(keyName!))) out.push(`${at}: label ${key}`);
        if (!(value.length <= 63 && LABEL_VALUE.test(value))) out.push(`${at}: label ${key}=${value}`);
      }
    }
    for (const container of template?.spec.containers ?? []) {
      if (!DNS_LABEL.test(container.name)) out.push(`${at}: container name ${container.name}`);
      for (const port of container.ports ?? []) {
        if (port.name && !(port.name.length <= 15 && PORT_NAME.test(port.name)))
          out.push(`${at}: port ${port.name}`);
      }
      const { requests = {}, limits = {} } = container.resources ?? {};
      for (const resource of Object.keys({ ...requests, ...limits })) {
        const exact = resource.startsWith('hugepages-') || resource.includes('/');
        if (exact && requests[resource] !== limits[resource])
          out.push(`${at}: ${resource} requests ≠ limits`);
      }
    }
    for (const port of (object as Partial<ServiceObject>).spec?.ports ?? []) {
      if (!(port.name.length <= 15 && PORT_NAME.test(port.name)))
        out.push(`${at}: service port ${port.name}`);
    }
  }
  return out;
}
