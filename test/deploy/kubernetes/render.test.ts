import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  type CniConfig,
  type ConfigMapObject,
  type KubeObject,
  type NetworkAttachmentDefinition,
  type NetworkSelection,
  renderKubernetes,
  type ServiceObject,
  toYaml,
} from '../../../src/deploy/kubernetes/index.ts';
import type { Workload } from '../../../src/deploy/model.ts';
import {
  apiServerViolations,
  find,
  IMAGE,
  qosClass,
  validateAll,
  validateNad,
  workloadOf,
} from './support.ts';

/** The acceptance VNF: mgmt + two macvlan data planes with static addresses, pinned CPUs, hugepages. */
function vfw(overrides: Partial<Workload> = {}): Workload {
  return {
    name: 'vfw',
    image: IMAGE,
    replicas: 2,
    networks: [
      { role: 'mgmt' },
      {
        role: 'data-in',
        driver: 'macvlan',
        parent: 'ens1f0',
        mode: 'bridge',
        subnet: '10.10.1.0/24',
        ip: '10.10.1.10',
      },
      {
        role: 'data-out',
        driver: 'macvlan',
        parent: 'ens1f1',
        subnet: '10.10.2.0/24',
        ip: '10.10.2.10',
        mac: '02:00:00:00:02:0A',
      },
    ],
    resources: { cpus: 2, memory: '1Gi', hugepages: { size: '2Mi', pages: 512 } },
    security: { capabilities: ['NET_ADMIN', 'CAP_IPC_LOCK'], dropCapabilities: ['ALL'], user: '10001:10001' },
    sysctls: { 'net.ipv4.ip_forward': '1' },
    ...overrides,
  };
}

const render = (workload: Workload, kind?: 'Deployment' | 'StatefulSet' | 'DaemonSet') =>
  renderKubernetes(workload, { namespace: 'vnf', image: IMAGE, ...(kind ? { kind } : {}) });

const cni = (nad: KubeObject) => JSON.parse((nad as NetworkAttachmentDefinition).spec.config) as CniConfig;

describe('renderKubernetes: the acceptance VNF', () => {
  const objects = render(vfw());
  const deployment = workloadOf(objects);
  const pod = deployment.spec.template;
  const container = pod.spec.containers[0]!;

  it('renders objects in apply order that all validate against the Kubernetes schemas', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ServiceAccount/vfw',
      'NetworkAttachmentDefinition/vfw-1-data-in',
      'NetworkAttachmentDefinition/vfw-2-data-out',
      'PodDisruptionBudget/vfw',
      'Deployment/vfw',
    ]);
    expect(() => validateAll(objects)).not.toThrow();
    expect(apiServerViolations(objects)).toEqual([]);
    expect(objects.every((o) => o.metadata.namespace === 'vnf')).toBe(true);
  });

  it('defines one macvlan attachment per data network with static IPAM from the annotation', () => {
    const dataIn = cni(find(objects, 'NetworkAttachmentDefinition', 'vfw-1-data-in'));
    expect(dataIn).toMatchObject({
      cniVersion: '1.0.0',
      name: 'vfw-1-data-in',
      type: 'macvlan',
      master: 'ens1f0',
      mode: 'bridge',
      ipam: { type: 'static' },
      capabilities: { ips: true },
    });
    const dataOut = cni(find(objects, 'NetworkAttachmentDefinition', 'vfw-2-data-out'));
    expect(dataOut).toMatchObject({
      type: 'macvlan',
      master: 'ens1f1',
      capabilities: { ips: true, mac: true },
    });
    expect(dataOut.mode).toBeUndefined();
  });

  it('attaches the data networks through the Multus annotation with their addresses; mgmt is the pod network', () => {
    const selections = JSON.parse(
      pod.metadata.annotations!['k8s.v1.cni.cncf.io/networks']!,
    ) as NetworkSelection[];
    expect(selections).toEqual([
      { name: 'vfw-1-data-in', namespace: 'vnf', interface: 'eth1', ips: ['10.10.1.10/24'] },
      {
        name: 'vfw-2-data-out',
        namespace: 'vnf',
        interface: 'eth2',
        ips: ['10.10.2.10/24'],
        mac: '02:00:00:00:02:0a',
      },
    ]);
    expect(pod.spec.hostNetwork).toBeUndefined();
  });

  it('writes YAML whose objects validate', () => {
    const documents = parseAllDocuments(toYaml(objects)) as Array<{ toJS(): KubeObject }>;
    const written = documents.map((doc) => doc.toJS());
    expect(written.map((o) => o.kind)).toEqual(objects.map((o) => o.kind));
    expect(() => validateAll(written)).not.toThrow();
  });

  it('asks for Guaranteed QoS with whole CPUs, and hugepages with their volume', () => {
    expect(qosClass(pod.spec)).toBe('Guaranteed');
    const amounts = { cpu: '2', memory: '1Gi', 'hugepages-2Mi': '1Gi' };
    expect(container.resources).toEqual({ requests: amounts, limits: amounts });
    expect(pod.spec.volumes).toContainEqual({ name: 'hugepages', emptyDir: { medium: 'HugePages-2Mi' } });
    expect(container.volumeMounts).toContainEqual({ name: 'hugepages', mountPath: '/dev/hugepages' });
  });

  it('grants the capabilities, sets the sysctl and the non-root user', () => {
    expect(container.securityContext).toMatchObject({
      capabilities: { add: ['NET_ADMIN', 'IPC_LOCK'], drop: ['ALL'] },
      runAsUser: 10001,
      runAsGroup: 10001,
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.spec.securityContext).toEqual({ sysctls: [{ name: 'net.ipv4.ip_forward', value: '1' }] });
  });

  it('runs 2 replicas under a PodDisruptionBudget, recreating pods so two never hold the same address', () => {
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
    const pdb = find(objects, 'PodDisruptionBudget') as KubeObject & { spec: unknown };
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: deployment.spec.selector });
  });

  it('pins the image by digest and labels everything with the recommended and vnfpipe labels', () => {
    expect(container.image).toBe(IMAGE);
    expect(container.imagePullPolicy).toBe('IfNotPresent');
    for (const object of objects) {
      expect(object.metadata.labels).toMatchObject({
        'app.kubernetes.io/name': 'vfw',
        'app.kubernetes.io/instance': 'vfw',
        'app.kubernetes.io/managed-by': 'vnfpipe',
        'app.kubernetes.io/version': '1.4.2',
        'io.vnfpipe.workload': 'vfw',
      });
    }
    expect(deployment.spec.selector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'vfw',
      'app.kubernetes.io/instance': 'vfw',
    });
    expect(pod.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
    expect(pod.spec.serviceAccountName).toBe('vfw');
    expect(pod.spec.automountServiceAccountToken).toBe(false);
  });
});

describe('renderKubernetes: workload kinds and optional objects', () => {
  it('renders a StatefulSet with a headless governing Service', () => {
    const objects = render(vfw({ ports: [{ container: 830, protocol: 'tcp' }] }), 'StatefulSet');
    validateAll(objects);
    const sts = workloadOf(objects);
    expect(sts.kind).toBe('StatefulSet');
    expect(sts.spec.serviceName).toBe('vfw');
    expect(sts.spec.strategy).toBeUndefined();
    const service = find<ServiceObject>(objects, 'Service');
    expect(service.spec.clusterIP).toBe('None');
    expect(service.spec.ports).toEqual([{ name: 'tcp-830', port: 830, targetPort: 830, protocol: 'TCP' }]);
  });

  it('renders a DaemonSet without replicas or PodDisruptionBudget', () => {
    const objects = render(vfw({ replicas: undefined }), 'DaemonSet');
    validateAll(objects);
    expect(workloadOf(objects).spec.replicas).toBeUndefined();
    expect(objects.some((o) => o.kind === 'PodDisruptionBudget')).toBe(false);
  });

  it('renders a ClusterIP Service for declared ports, never a hostPort', () => {
    const objects = render(
      vfw({
        ports: [
          { container: 8080, host: 18080 },
          { container: 4789, protocol: 'udp' },
        ],
      }),
    );
    validateAll(objects);
    const service = find<ServiceObject>(objects, 'Service', 'vfw');
    expect(service.spec.type).toBe('ClusterIP');
    expect(service.spec.ports?.map((p) => `${p.name}:${p.port}`)).toEqual(['tcp-8080:8080', 'udp-4789:4789']);
    const container = workloadOf(objects).spec.template.spec.containers[0]!;
    expect(container.ports).toEqual([
      { name: 'tcp-8080', containerPort: 8080, protocol: 'TCP' },
      { name: 'udp-4789', containerPort: 4789, protocol: 'UDP' },
    ]);
  });

  it('puts files in one immutable ConfigMap, named by content, mounted file by file', () => {
    const files = [
      { path: '/etc/vfw/vfw.conf', content: 'rules 10\n', mode: 0o640 },
      { path: '/etc/vfw/keys/vfw.conf', content: 'other\n' },
    ];
    const objects = render(vfw({ files }));
    validateAll(objects);
    const configMap = find<ConfigMapObject>(objects, 'ConfigMap');
    expect(objects.indexOf(configMap)).toBe(1);
    expect(configMap.immutable).toBe(true);
    expect(configMap.data).toEqual({ '0-vfw.conf': 'rules 10\n', '1-vfw.conf': 'other\n' });
    const pod = workloadOf(objects).spec.template.spec;
    expect(pod.volumes).toContainEqual({
      name: 'files',
      configMap: {
        name: configMap.metadata.name,
        items: [
          { key: '0-vfw.conf', path: '0-vfw.conf', mode: 0o640 },
          { key: '1-vfw.conf', path: '1-vfw.conf' },
        ],
      },
    });
    expect(pod.containers[0]!.volumeMounts).toContainEqual({
      name: 'files',
      mountPath: '/etc/vfw/keys/vfw.conf',
      subPath: '1-vfw.conf',
      readOnly: true,
    });
    const changed = find(render(vfw({ files: [{ ...files[0]!, content: 'rules 11\n' }] })), 'ConfigMap');
    expect(changed.metadata.name).not.toBe(configMap.metadata.name);
  });

  it('renders the Namespace first when asked to', () => {
    const objects = renderKubernetes(vfw(), { namespace: 'vnf', image: IMAGE, createNamespace: true });
    validateAll(objects);
    expect(objects[0]).toMatchObject({ kind: 'Namespace', metadata: { name: 'vnf' } });
  });
});

describe('renderKubernetes: VNF specifics', () => {
  it('maps pinned cpuset to as many whole CPUs, Guaranteed', () => {
    const objects = render(vfw({ resources: { cpuset: '2-3,6', memory: '512Mi' } }));
    validateAll(objects);
    const resources = workloadOf(objects).spec.template.spec.containers[0]!.resources;
    expect(resources).toEqual({
      requests: { cpu: '3', memory: '512Mi' },
      limits: { cpu: '3', memory: '512Mi' },
    });
    expect(qosClass(workloadOf(objects).spec.template.spec)).toBe('Guaranteed');
  });

  it('writes fractional CPUs in millicores and 1Gi hugepages with their own medium and mount path', () => {
    const objects = render(
      vfw({
        resources: {
          cpus: 1.5,
          memory: 268435456,
          hugepages: { size: '1Gi', pages: 2, mountPath: '/mnt/huge' },
        },
      }),
    );
    validateAll(objects);
    const spec = workloadOf(objects).spec.template.spec;
    expect(spec.containers[0]!.resources?.limits).toEqual({
      cpu: '1500m',
      memory: '256Mi',
      'hugepages-1Gi': '2Gi',
    });
    expect(spec.volumes).toContainEqual({ name: 'hugepages', emptyDir: { medium: 'HugePages-1Gi' } });
    expect(spec.containers[0]!.volumeMounts).toContainEqual({ name: 'hugepages', mountPath: '/mnt/huge' });
  });

  it('renders SR-IOV networks: sriov CNI, the resourceName annotation and the device request', () => {
    const resourceName = 'intel.com/sriov_netdevice';
    const objects = render(
      vfw({
        networks: [
          { role: 'mgmt' },
          { role: 'fh', sriov: { resourceName }, subnet: '192.168.50.0/24', ip: '192.168.50.2' },
          { role: 'bh', sriov: { resourceName } },
        ],
      }),
    );
    validateAll(objects);
    const nad = find(objects, 'NetworkAttachmentDefinition', 'vfw-1-fh');
    expect(nad.metadata.annotations).toEqual({ 'k8s.v1.cni.cncf.io/resourceName': resourceName });
    expect(cni(nad)).toMatchObject({ type: 'sriov', ipam: { type: 'static' }, capabilities: { ips: true } });
    expect(cni(find(objects, 'NetworkAttachmentDefinition', 'vfw-2-bh')).ipam).toEqual({});
    const resources = workloadOf(objects).spec.template.spec.containers[0]!.resources!;
    expect(resources.requests?.[resourceName]).toBe('2');
    expect(resources.limits?.[resourceName]).toBe('2');
  });

  it('renders ipvlan and bridge data networks, and references external ones without defining them', () => {
    const objects = render(
      vfw({
        networks: [
          { role: 'mgmt' },
          { role: 'a', driver: 'ipvlan', parent: 'bond0', mode: 'l3' },
          { role: 'b', driver: 'bridge' },
          {
            role: 'e',
            driver: 'bridge',
            parent: 'br-e',
            subnet: '10.0.4.0/24',
            ip: '10.0.4.2',
            mac: '02:00:00:00:04:02',
          },
          {
            role: 'c',
            name: 'site-fh',
            driver: 'macvlan',
            external: true,
            subnet: '10.0.0.0/16',
            ip: '10.0.3.4',
          },
        ],
      }),
    );
    validateAll(objects);
    expect(cni(find(objects, 'NetworkAttachmentDefinition', 'vfw-1-a'))).toMatchObject({
      type: 'ipvlan',
      master: 'bond0',
      mode: 'l3',
      ipam: {},
    });
    const bridge = cni(find(objects, 'NetworkAttachmentDefinition', 'vfw-2-b'));
    expect(bridge.type).toBe('bridge');
    expect(bridge.bridge!.length).toBeLessThanOrEqual(15);
    // The bridge plugin ignores a runtime MAC: tuning, chained after it, sets it.
    expect(
      JSON.parse(
        (find(objects, 'NetworkAttachmentDefinition', 'vfw-3-e') as NetworkAttachmentDefinition).spec.config,
      ),
    ).toEqual({
      cniVersion: '1.0.0',
      name: 'vfw-3-e',
      plugins: [
        { type: 'bridge', bridge: 'br-e', ipam: { type: 'static' }, capabilities: { ips: true } },
        { type: 'tuning', capabilities: { mac: true } },
      ],
    });
    expect(objects.some((o) => o.metadata.name === 'site-fh')).toBe(false);
    const pod = workloadOf(objects).spec.template;
    const selections = JSON.parse(
      pod.metadata.annotations!['k8s.v1.cni.cncf.io/networks']!,
    ) as NetworkSelection[];
    expect(selections[2]).toEqual({
      name: 'vfw-3-e',
      namespace: 'vnf',
      interface: 'eth3',
      ips: ['10.0.4.2/24'],
      mac: '02:00:00:00:04:02',
    });
    expect(selections.at(-1)).toEqual({
      name: 'site-fh',
      namespace: 'vnf',
      interface: 'eth4',
      ips: ['10.0.3.4/16'],
    });
  });

  it('uses the host network when the management network is the host', () => {
    const objects = render(vfw({ networks: [{ role: 'mgmt', driver: 'host' }], sysctls: undefined }));
    validateAll(objects);
    const pod = workloadOf(objects).spec.template;
    expect(pod.spec.hostNetwork).toBe(true);
    expect(pod.spec.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(pod.metadata.annotations?.['k8s.v1.cni.cncf.io/networks']).toBeUndefined();
  });

  it('maps security and health onto the container', () => {
    const objects = render(
      vfw({
        security: {
          capabilities: ['NET_ADMIN'],
          readOnlyRootFilesystem: true,
          noNewPrivileges: true,
          seccompProfile: 'profiles/vfw.json',
          apparmorProfile: 'vfw-profile',
          user: '0',
        },
        health: {
          command: ['vfwctl', 'ping'],
          interval: '10s',
          timeout: '500ms',
          retries: 5,
          startPeriod: '1m',
        },
        stopGracePeriod: 30,
        command: ['/usr/bin/vfw'],
        args: ['--config', '/etc/vfw/vfw.conf'],
        env: { LOG_LEVEL: 'debug' },
      }),
    );
    validateAll(objects);
    const pod = workloadOf(objects).spec.template.spec;
    const container = pod.containers[0]!;
    expect(container.securityContext).toEqual({
      capabilities: { add: ['NET_ADMIN'] },
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsUser: 0,
      seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/vfw.json' },
      appArmorProfile: { type: 'Localhost', localhostProfile: 'vfw-profile' },
    });
    const probe = {
      exec: { command: ['vfwctl', 'ping'] },
      periodSeconds: 10,
      timeoutSeconds: 1,
      failureThreshold: 5,
    };
    expect(container.readinessProbe).toEqual(probe);
    expect(container.livenessProbe).toEqual(probe);
    expect(container.startupProbe).toEqual({ ...probe, failureThreshold: 6 });
    expect(container.command).toEqual(['/usr/bin/vfw']);
    expect(container.args).toEqual(['--config', '/etc/vfw/vfw.conf']);
    expect(container.env).toEqual([{ name: 'LOG_LEVEL', value: 'debug' }]);
    expect(pod.terminationGracePeriodSeconds).toBe(30);
  });

  it('leaves a pod without a memory limit Burstable (whole CPUs alone are not pinned)', () => {
    const objects = render(vfw({ resources: { cpus: 2 } }));
    validateAll(objects);
    expect(qosClass(workloadOf(objects).spec.template.spec)).toBe('Burstable');
  });

  it('keeps the rolling update when no data interface has a fixed address', () => {
    const objects = render(
      vfw({ networks: [{ role: 'mgmt' }, { role: 'data', driver: 'macvlan', parent: 'eth9' }] }),
    );
    expect(workloadOf(objects).spec.strategy).toBeUndefined();
  });
});

describe('the test validators', () => {
  it('reject an object Kubernetes would refuse', () => {
    const objects = render(vfw());
    const broken = structuredClone(objects);
    workloadOf(broken).spec.template.spec.containers[0]!.resources!.limits!.cpu = 'two';
    expect(() => validateAll(broken)).toThrow(/Deployment\/vfw.*quantity/);
  });

  it('report names, labels, port names and resources the API server would refuse', () => {
    const broken = structuredClone(render(vfw({ ports: [{ container: 8080 }] })));
    const deployment = workloadOf(broken);
    deployment.spec.template.metadata.labels.owner = 'the vnf team';
    const container = deployment.spec.template.spec.containers[0]!;
    container.ports![0]!.name = 'management-port-8080';
    container.resources!.requests!['hugepages-2Mi'] = '512Mi';
    find(broken, 'Service').metadata.name = 'vfw.mgmt';
    expect(apiServerViolations(broken)).toEqual([
      'Service/vfw.mgmt: invalid name',
      'Deployment/vfw: label owner=the vnf team',
      'Deployment/vfw: port management-port-8080',
      'Deployment/vfw: hugepages-2Mi requests ≠ limits',
    ]);
  });

  it('reject a CNI configuration a plugin would refuse', () => {
    const nad = structuredClone(
      find<NetworkAttachmentDefinition>(render(vfw()), 'NetworkAttachmentDefinition'),
    );
    const { master: _dropped, ...config } = JSON.parse(nad.spec.config) as CniConfig;
    nad.spec.config = JSON.stringify(config);
    expect(() => validateNad(nad)).toThrow(/master/);
    nad.spec.config = JSON.stringify({ ...config, master: 'ens1f0', capabilities: {} });
    expect(() => validateNad(nad)).toThrow(/ips/);
    const { cniVersion, name, ...plugin } = { ...config, master: 'ens1f0' };
    nad.spec.config = JSON.stringify({ cniVersion, name, plugins: [plugin] });
    expect(() => validateNad(nad)).not.toThrow();
    const tuning = { type: 'tuning', capabilities: { mac: true } };
    nad.spec.config = JSON.stringify({ cniVersion, name, plugins: [tuning, plugin] });
    expect(() => validateNad(nad)).toThrow(/tuning needs an earlier plugin/);
  });
});
