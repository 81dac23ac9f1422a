import { describe, expect, it } from 'vitest';
import {
  CNF_CHECKS,
  type CnfCheckId,
  checkCnf,
  cnfFindingsToSarif,
  type KubeObject,
  renderKubernetes,
  type ServiceObject,
  unwaived,
  type WorkloadObject,
} from '../../../src/deploy/kubernetes/index.ts';
import type { Workload } from '../../../src/deploy/model.ts';
import { VnfpipeError } from '../../../src/errors.ts';
import type { ImageConfig } from '../../../src/oci/config.ts';
import { DIGEST, find, IMAGE, sarifValidator, workloadOf } from './support.ts';

/** A workload that passes every check, so each case below fails for its own reason only. */
function clean(overrides: Partial<Workload> = {}): Workload {
  return {
    name: 'vfw',
    image: IMAGE,
    networks: [{ role: 'mgmt' }, { role: 'data', driver: 'macvlan', parent: 'ens1f0' }],
    resources: { cpus: 2, memory: '1Gi' },
    security: { capabilities: ['IPC_LOCK'], dropCapabilities: ['ALL'], user: '10001:10001' },
    health: { command: ['/usr/bin/vfw-health'] },
    ports: [{ container: 830 }],
    files: [{ path: '/etc/vfw/vfw.conf', content: 'listen 0.0.0.0:830\nlog 127.0.0.1\n' }],
    ...overrides,
  };
}

function render(overrides: Partial<Workload> = {}, namespace = 'vnf'): KubeObject[] {
  return renderKubernetes(clean(overrides), { namespace, image: IMAGE });
}

/** A rendered clean workload, changed by hand the way a hand-written manifest could be. */
function edited(edit: (objects: KubeObject[], workload: WorkloadObject) => void): KubeObject[] {
  const objects = structuredClone(render());
  edit(objects, workloadOf(objects));
  return objects;
}

const container = (workload: WorkloadObject) => workload.spec.template.spec.containers[0]!;

const CASES: Array<[CnfCheckId, () => KubeObject[], RegExp]> = [
  [
    'privileged-containers',
    () =>
      renderKubernetes(clean({ security: { privileged: true, privilegedWaiver: 'loads a kernel module' } }), {
        namespace: 'vnf',
        image: IMAGE,
      }),
    /container vfw is privileged/,
  ],
  [
    'host-network',
    () => render({ networks: [{ role: 'mgmt', driver: 'host' }] }),
    /Deployment\/vfw uses hostNetwork/,
  ],
  [
    'host-pid-ipc-privileges',
    () =>
      edited((_, w) => {
        w.spec.template.spec.hostIPC = true;
      }),
    /sets hostIPC/,
  ],
  [
    'hostpath-mounts',
    () =>
      edited((_, w) => {
        w.spec.template.spec.volumes!.push({ name: 'dev', hostPath: { path: '/dev' } });
      }),
    /volume dev mounts the node's \/dev/,
  ],
  [
    'insecure-capabilities',
    () => render({ security: { capabilities: ['NET_ADMIN', 'IPC_LOCK', 'CAP_SYS_ADMIN'], user: '10001' } }),
    /adds NET_ADMIN, SYS_ADMIN$/,
  ],
  ['non-root-containers', () => render({ security: { user: '0:0' } }), /runs as uid 0/],
  [
    'cpu-limits',
    () =>
      edited((_, w) => {
        delete container(w).resources!.limits!.cpu;
      }),
    /has no CPU limit/,
  ],
  ['memory-limits', () => render({ resources: { cpus: 0.5 } }), /has no memory limit/],
  ['liveness', () => render({ health: undefined }), /has no liveness probe/],
  [
    'readiness',
    () =>
      edited((_, w) => {
        delete container(w).readinessProbe;
      }),
    /has no readiness probe/,
  ],
  [
    'latest-tag',
    () =>
      edited((_, w) => {
        container(w).image = `registry.example/vnf/vfw:latest@${DIGEST}`;
      }),
    /tagged latest or not at all/,
  ],
  [
    'unpinned-image',
    () =>
      edited((_, w) => {
        container(w).image = 'registry.example/vnf/vfw:1.4.2';
      }),
    /'registry.example\/vnf\/vfw:1.4.2' without a digest/,
  ],
  ['default-namespace', () => render({}, 'default'), /ServiceAccount\/vfw is in the default namespace/],
  [
    'hardcoded-ip-addresses-in-k8s-runtime-configuration',
    () =>
      render({
        files: [{ path: '/etc/vfw/peers', content: 'peer 10.20.0.1\npeer 10.20.0.2\nlisten 0.0.0.0\n' }],
      }),
    /key 0-peers hard-codes 10.20.0.1, 10.20.0.2$/,
  ],
  [
    'nodeport-not-used',
    () =>
      edited((objects) => {
        find<ServiceObject>(objects, 'Service').spec.type = 'NodePort';
      }),
    /Service\/vfw is of type NodePort/,
  ],
  [
    'hostport-not-used',
    () =>
      edited((_, w) => {
        container(w).ports![0]!.hostPort = 830;
      }),
    /publishes hostPort 830/,
  ],
  [
    'immutable-configmap',
    () =>
      edited((objects) => {
        delete find(objects, 'ConfigMap').immutable;
      }),
    /is not immutable: true/,
  ],
  [
    'require-labels',
    () =>
      edited((objects) => {
        delete find(objects, 'ServiceAccount').metadata.labels!['app.kubernetes.io/name'];
      }),
    /ServiceAccount\/vfw has no app.kubernetes.io\/name label/,
  ],
  [
    'sysctls',
    () => render({ sysctls: { 'net.ipv4.tcp_syncookies': '1', 'net.ipv4.ip_forward': '1' } }),
    /Deployment\/vfw sets net.ipv4.ip_forward, which nodes must allow/,
  ],
  [
    'shared-static-address',
    () =>
      render({
        replicas: 3,
        networks: [
          { role: 'mgmt' },
          { role: 'data', driver: 'macvlan', parent: 'ens1f0', subnet: '10.10.1.0/24', ip: '10.10.1.10' },
        ],
      }),
    /3 replicas would all take 10.10.1.10\/24 on vfw-1-data/,
  ],
];

describe('checkCnf', () => {
  it('finds nothing in a clean VNF (so each case below triggers its check alone)', () => {
    expect(checkCnf(render())).toEqual([]);
  });

  it('has a case for every check', () => {
    expect(CASES.map(([id]) => id).sort()).toEqual(Object.keys(CNF_CHECKS).sort());
  });

  describe.each(CASES)('%s', (id, objects, message) => {
    it('is triggered', () => {
      const findings = checkCnf(objects());
      const hits = findings.filter((f) => f.id === id);
      expect(hits.length).toBeGreaterThan(0);
      expect(hits.map((f) => f.message)).toContainEqual(expect.stringMatching(message));
      expect(hits.every((f) => f.severity === CNF_CHECKS[id].severity && !f.suppressed)).toBe(true);
      expect(unwaived(findings).map((f) => f.id)).toContain(id);
    });

    it('is recorded as waived, with the reason, when waived', () => {
      const reason = `accepted for the test of ${id}`;
      const plain = checkCnf(objects());
      const findings = checkCnf(objects(), { waivers: { [id]: reason } });
      expect(findings.length).toBe(plain.length);
      const hits = findings.filter((f) => f.id === id);
      expect(hits.length).toBeGreaterThan(0);
      expect(hits.every((f) => f.suppressed?.by === 'waiver' && f.suppressed.reason === reason)).toBe(true);
      expect(unwaived(findings).some((f) => f.id === id)).toBe(false);
    });
  });

  it('requires the name label on the pods too', () => {
    const objects = edited((_, w) => {
      delete w.spec.template.metadata.labels['app.kubernetes.io/name'];
    });
    expect(checkCnf(objects)).toEqual([
      expect.objectContaining({
        id: 'require-labels',
        path: 'spec.template.metadata.labels',
        message: "Deployment/vfw's pods have no app.kubernetes.io/name label",
      }),
    ]);
  });

  it('locates a finding at the object and field', () => {
    const [finding] = checkCnf(
      edited((_, w) => {
        container(w).securityContext!.privileged = true;
      }),
    );
    expect(finding).toEqual({
      id: 'privileged-containers',
      severity: 'high',
      message: 'Deployment/vfw container vfw is privileged',
      object: { kind: 'Deployment', name: 'vfw', namespace: 'vnf' },
      path: 'spec.template.spec.containers[0].securityContext.privileged',
    });
  });

  describe('non-root-containers without a runAsUser', () => {
    const objects = edited((_, w) => {
      const security = container(w).securityContext!;
      delete security.runAsUser;
      delete security.runAsGroup;
      delete security.runAsNonRoot;
    });
    const image = (user?: string): ImageConfig => ({
      architecture: 'amd64',
      os: 'linux',
      config: user === undefined ? {} : { User: user },
      rootfs: { type: 'layers', diff_ids: [] },
    });
    const rootFindings = (imageConfig?: ImageConfig) =>
      checkCnf(objects, imageConfig ? { imageConfig } : {})
        .filter((f) => f.id === 'non-root-containers')
        .map((f) => f.message);

    it('reads the image config: no USER or root is root, a user is not', () => {
      expect(rootFindings(image())).toEqual([
        'Deployment/vfw container vfw runs as root: the image sets no USER',
      ]);
      expect(rootFindings(image('root:root'))).toEqual([
        "Deployment/vfw container vfw runs as the image's user root:root",
      ]);
      expect(rootFindings(image('10001'))).toEqual([]);
    });

    it('flags the container when nothing says who it runs as', () => {
      expect(rootFindings()).toEqual([
        'Deployment/vfw container vfw sets neither runAsUser nor runAsNonRoot, so the image decides',
      ]);
    });
  });

  it('refuses a waiver for an unknown check, or without a reason', () => {
    const objects = render();
    const unknown = (() => {
      try {
        checkCnf(objects, { waivers: { 'insecure-capability': 'typo' } as never });
      } catch (error) {
        return error;
      }
    })() as VnfpipeError;
    expect(unknown).toBeInstanceOf(VnfpipeError);
    expect(unknown.code).toBe('PIPELINE_INVALID');
    expect(unknown.where).toBe('waivers.insecure-capability');
    expect(unknown.hint).toContain('insecure-capabilities');
    expect(() => checkCnf(objects, { waivers: { 'host-network': '  ' } })).toThrow(/gives no reason/);
    expect(() => checkCnf(objects, { waivers: { toString: 'inherited, not a check' } as never })).toThrow(
      /'toString', which is not a CNF check/,
    );
  });

  it('passes the acceptance VNF once its capabilities and shared addresses are waived', () => {
    const objects = render({
      replicas: 2,
      networks: [
        { role: 'mgmt' },
        { role: 'data-in', driver: 'macvlan', parent: 'ens1f0', subnet: '10.10.1.0/24', ip: '10.10.1.10' },
        { role: 'data-out', driver: 'macvlan', parent: 'ens1f1', subnet: '10.10.2.0/24', ip: '10.10.2.10' },
      ],
      resources: { cpus: 2, memory: '1Gi', hugepages: { size: '2Mi', pages: 512 } },
      security: { capabilities: ['NET_ADMIN', 'IPC_LOCK'], user: '10001' },
      sysctls: { 'net.ipv4.ip_forward': '1' },
    });
    const findings = checkCnf(objects, {
      waivers: {
        'insecure-capabilities': 'the VNF programs routes on its data interfaces',
        'shared-static-address': 'active/standby pair: the standby keeps its data interfaces down',
        sysctls: 'the VNF node pool allows net.ipv4.ip_forward',
      },
    });
    expect(findings.map((f) => f.id).sort()).toEqual([
      'insecure-capabilities',
      'shared-static-address',
      'sysctls',
    ]);
    expect(unwaived(findings)).toEqual([]);
  });
});

describe('cnfFindingsToSarif', () => {
  const findings = checkCnf(
    render({ health: undefined, security: { capabilities: ['NET_RAW'], user: '10001' } }),
    {
      waivers: { 'insecure-capabilities': 'answers ICMP echo on the data plane' },
    },
  );
  const sarif = cnfFindingsToSarif(findings, { artifactUri: 'deploy/vfw.yaml' }) as {
    runs: Array<{
      tool: { driver: { rules: Array<{ id: string }> } };
      results: Array<Record<string, unknown> & { ruleId: string; ruleIndex: number }>;
    }>;
  };

  it('validates against the SARIF 2.1.0 schema', () => {
    const validate = sarifValidator();
    expect(validate(sarif), JSON.stringify(validate.errors)).toBe(true);
  });

  it('writes one rule per check and one result per finding, waived ones as suppressions', () => {
    const run = sarif.runs[0]!;
    expect(run.tool.driver.rules.map((r) => r.id).sort()).toEqual([
      'insecure-capabilities',
      'liveness',
      'readiness',
    ]);
    expect(run.results).toHaveLength(findings.length);
    for (const result of run.results) expect(run.tool.driver.rules[result.ruleIndex]!.id).toBe(result.ruleId);
    const waived = run.results.find((r) => r.ruleId === 'insecure-capabilities')!;
    expect(waived.suppressions).toEqual([
      { kind: 'external', justification: 'answers ICMP echo on the data plane' },
    ]);
    expect(waived.level).toBe('error');
    expect(waived.locations).toEqual([
      {
        physicalLocation: { artifactLocation: { uri: 'deploy/vfw.yaml' } },
        logicalLocations: [
          {
            fullyQualifiedName:
              'Deployment/vnf/vfw:spec.template.spec.containers[0].securityContext.capabilities.add',
            kind: 'object',
          },
        ],
      },
    ]);
    expect(run.results.find((r) => r.ruleId === 'liveness')!.suppressions).toBeUndefined();
  });
});
