import { describe, expect, it } from 'vitest';
import { validateWorkload, type Workload } from '../../src/deploy/model.js';
import { importVnfdFile } from '../../src/vnfd/import.js';
import { VFW_JSON, VFW_YAML, vfwDocument, writeTemp, yanglint } from './support.js';

const ROOT = "/etsi-nfv-descriptors:nfv/vnfd[id='vfw-vnfd']";

const expected: Workload = {
  name: 'fw',
  image:
    'registry.example.net/vnf/vfw:2.1@sha256:4b825dc642cb6eb9a060e54bf8d69288fbee4904c7a1f0a3c9f4a6d3b2c1e0f9',
  replicas: 1,
  labels: {
    'org.etsi.nfv.vnfd.flavour': 'small',
    'org.etsi.nfv.vnfd.vdu': 'fw',
    'org.etsi.nfv.vnfd.id': 'vfw-vnfd',
    'org.etsi.nfv.vnfd.provider': 'Example Telco',
    'org.etsi.nfv.vnfd.product-name': 'vFirewall',
    'org.etsi.nfv.vnfd.software-version': '2.1',
    'org.etsi.nfv.vnfd.version': '1.0',
  },
  resources: { cpus: 2, cpuset: '0-1', memory: '512Mi', hugepages: { size: '2Mi', pages: 64 } },
  networks: [
    { role: 'mgmt', subnet: '10.10.0.0/24', gateway: '10.10.0.1', ip: '10.10.0.10' },
    { role: 'data-in', name: 'north', external: true },
    { role: 'data-out', subnet: '10.20.0.0/24', ip: '10.20.0.10' },
  ],
};

describe('SOL006 VNFD import', () => {
  it('the test VNFD itself is valid against the official modules', () => {
    expect(yanglint(VFW_JSON)).toEqual({ status: 0, errors: '' });
  });

  it('maps the VDU of the first flavour to a valid workload, interfaces in `order`', () => {
    const result = importVnfdFile(VFW_JSON);
    expect(result.flavour).toBe('small');
    expect(result.vdu).toBe('fw');
    expect(result.workload).toEqual(expected);
    expect(() => validateWorkload(result.workload)).not.toThrow();
  });

  it('takes replicas from the chosen flavour’s default instantiation level', () => {
    const large = importVnfdFile(VFW_JSON, { flavour: 'large', vdu: 'fw' });
    expect(large.workload.replicas).toBe(2);
    expect(large.workload.labels?.['org.etsi.nfv.vnfd.flavour']).toBe('large');
    expect(large.workload.networks).toEqual(expected.networks);
  });

  it('reads the YAML form orchestrators write (no module prefixes) to the same workload', () => {
    const fromYaml = importVnfdFile(VFW_YAML);
    expect(fromYaml.workload).toEqual(expected);
    expect(fromYaml.unmapped.map((u) => u.path)).toContain("/vnfd/vdu[id='fw']/monitoring-parameter");
  });

  it('lists every element without a workload equivalent, with its YANG path and a reason', () => {
    const { unmapped } = importVnfdFile(VFW_JSON);
    const reasons = new Map(unmapped.map((u) => [u.path, u.reason]));
    expect(reasons.get(`${ROOT}/vdu[id='fw']/monitoring-parameter`)).toMatch(/metric/);
    expect(reasons.get(`${ROOT}/security-group-rule`)).toMatch(/firewall rules/);
    expect(reasons.get(`${ROOT}/df[id='large']`)).toMatch(/another deployment flavour/);
    expect(reasons.get(`${ROOT}/df[id='small']/vdu-profile[id='fw']/max-number-of-instances`)).toMatch(
      /autoscaling/,
    );
    expect(reasons.get(`${ROOT}/sw-image-desc[id='fw-image']/min-disk`)).toMatch(/VM image/);
    expect(reasons.get(`${ROOT}/ext-cpd[id='mgmt-ext']`)).toMatch(/internal virtual link/);
    expect(reasons.get(`${ROOT}/vnfm-info`)).toBeDefined();
    expect(reasons.get(`${ROOT}/df[id='small']/lcm-operations-configuration`)).toMatch(/VNFM/);
    // Nothing the workload carries is listed, and nothing else is left out.
    expect(
      [...reasons.keys()].some((p) => p.includes('fixed-ip-address') || p.includes('num-virtual-cpu')),
    ).toBe(false);
    expect([...reasons.keys()].sort()).toEqual(
      [
        `${ROOT}/vnfm-info`,
        `${ROOT}/vdu[id='fw']/name`,
        `${ROOT}/vdu[id='fw']/description`,
        `${ROOT}/vdu[id='fw']/monitoring-parameter`,
        `${ROOT}/vdu[id='fw']/mcio-identification-data`,
        `${ROOT}/sw-image-desc[id='fw-image']/min-disk`,
        `${ROOT}/int-virtual-link-desc[id='mgmt-vl']/nfvi-maintenance-info`,
        `${ROOT}/int-virtual-link-desc[id='data-vl']/nfvi-maintenance-info`,
        `${ROOT}/security-group-rule`,
        `${ROOT}/ext-cpd[id='mgmt-ext']`,
        `${ROOT}/df[id='small']/vdu-profile[id='fw']/max-number-of-instances`,
        `${ROOT}/df[id='small']/vdu-profile[id='fw']/min-number-of-instances`,
        `${ROOT}/df[id='small']/vdu-profile[id='fw']/nfvi-maintenance-info`,
        `${ROOT}/df[id='small']/virtual-link-profile[id='mgmt-vl']/max-bit-rate-requirements`,
        `${ROOT}/df[id='small']/virtual-link-profile[id='mgmt-vl']/min-bit-rate-requirements`,
        `${ROOT}/df[id='small']/virtual-link-profile[id='data-vl']/max-bit-rate-requirements`,
        `${ROOT}/df[id='small']/virtual-link-profile[id='data-vl']/min-bit-rate-requirements`,
        `${ROOT}/df[id='small']/lcm-operations-configuration`,
        `${ROOT}/df[id='large']`,
      ].sort(),
    );
  });
});

describe('SOL006 v4 container VDUs', () => {
  it('maps os-container-desc limits (milli-CPU, MB) and huge-page-resources', () => {
    const doc = vfwDocument();
    const v = doc['etsi-nfv-descriptors:nfv'].vnfd[0]!;
    delete v['virtual-compute-desc'];
    const vdu = v.vdu[0];
    delete vdu['virtual-compute-desc'];
    delete vdu['sw-image-desc'];
    vdu['os-container-desc'] = ['fw-container'];
    v['os-container-desc'] = [
      {
        id: 'fw-container',
        name: 'fw',
        'requested-cpu-resources': 500,
        'cpu-resource-limit': 1500,
        'memory-resource-limit': '256',
        'huge-page-resources': [{ 'hugepage-size': 2, 'requested-size': 128, 'size-unit': 'MiB' }],
        'sw-image-desc': 'fw-image',
      },
    ];
    const file = writeTemp('container.json', doc);
    expect(yanglint(file)).toEqual({ status: 0, errors: '' });
    const { workload, unmapped } = importVnfdFile(file);
    expect(workload.image).toBe(expected.image);
    expect(workload.resources).toEqual({ cpus: 1.5, memory: '256M', hugepages: { size: '2Mi', pages: 64 } });
    expect(workload.networks).toEqual(expected.networks);
    expect(unmapped).toContainEqual({
      path: `${ROOT}/os-container-desc[id='fw-container']/requested-cpu-resources`,
      reason: 'the workload model has a CPU limit, not a request',
    });
  });
});

describe('documents with more than one descriptor', () => {
  it('imports the VNFD asked for and reports the other descriptors; without a choice it exits 2', () => {
    const doc = vfwDocument();
    const nfv = doc['etsi-nfv-descriptors:nfv'];
    nfv.vnfd.push({ ...nfv.vnfd[0], id: 'vlb-vnfd' });
    Object.assign(nfv, { nsd: [{ id: 'edge-ns' }] });
    const file = writeTemp('two.json', doc);
    const { workload, unmapped } = importVnfdFile(file, { vnfd: 'vfw-vnfd' });
    expect(workload).toEqual(expected);
    expect(unmapped).toContainEqual({
      path: "/etsi-nfv-descriptors:nfv/vnfd[id='vlb-vnfd']",
      reason: "another VNFD (imported: 'vfw-vnfd')",
    });
    expect(unmapped).toContainEqual({
      path: '/etsi-nfv-descriptors:nfv/nsd',
      reason: 'not part of the VNFD',
    });
    expect(() => importVnfdFile(file)).toThrow(
      expect.objectContaining({ code: 'VNFD_INVALID', exitCode: 2, hint: 'pick one of: vfw-vnfd, vlb-vnfd' }),
    );
  });
});

describe('choices the mapping cannot make alone', () => {
  it('dynamic CPU pinning leaves the CPUs to the target and says so', () => {
    const doc = vfwDocument();
    const vnfd = doc['etsi-nfv-descriptors:nfv'].vnfd[0]!;
    vnfd['virtual-compute-desc'][0]['virtual-cpu'].pinning = { policy: 'dynamic' };
    const { workload, unmapped } = importVnfdFile(writeTemp('dynamic.json', doc));
    expect(workload.resources?.cpuset).toBeUndefined();
    expect(workload.resources?.cpus).toBe(2);
    expect(unmapped).toContainEqual({
      path: `${ROOT}/virtual-compute-desc[id='fw-compute']/virtual-cpu/pinning`,
      reason: 'dynamic pinning: the target’s scheduler places the CPUs',
    });
  });

  it('two VDUs in the flavour need --vdu; the other VDU is then reported', () => {
    const doc = vfwDocument();
    const vnfd = doc['etsi-nfv-descriptors:nfv'].vnfd[0]!;
    vnfd.vdu.push({ ...vnfd.vdu[0], id: 'lb', name: 'balancer' });
    vnfd.df[0]['vdu-profile'].push({ id: 'lb', 'min-number-of-instances': 1 });
    const file = writeTemp('two-vdus.json', doc);
    expect(() => importVnfdFile(file)).toThrow(
      expect.objectContaining({ message: '2 VDUs in the flavour: choose one', hint: 'pass --vdu (fw, lb)' }),
    );
    const { workload, unmapped } = importVnfdFile(file, { vdu: 'fw' });
    expect(workload.name).toBe('fw');
    expect(unmapped).toContainEqual({ path: `${ROOT}/vdu[id='lb']`, reason: "another VDU (imported: 'fw')" });
  });
});
