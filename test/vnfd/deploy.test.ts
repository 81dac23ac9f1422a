import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerTarget } from '../../src/deploy/docker/target.js';
import type { Workload } from '../../src/deploy/model.js';
import { deploy } from '../../src/deploy/step.js';
import { definePipeline } from '../../src/pipeline/define.js';
import { runPipeline } from '../../src/pipeline/scheduler.js';
import { vnfd } from '../../src/vnfd/index.js';
import { requireDocker } from '../support/docker.js';
import { busyboxInDocker, docker } from '../support/engine-images.js';
import { freeSubnets } from '../support/subnets.js';
import { VFW_JSON, writeTemp } from './support.js';

const id = process.pid.toString(36);

describe('an imported VNFD on the Docker engine', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-vnfd-deploy-'));
  // Docker orders interfaces by network name: the external one must sort between the workload's own
  // `fw-<id>-0-mgmt` and `fw-<id>-2-data-out` to stay second, as its int-cpd `order` says.
  const north = `fw-${id}-1-north`;
  let workload: Workload | undefined;

  beforeAll(() => {
    requireDocker();
  });
  afterAll(async () => {
    if (workload) await new DockerTarget(join(dir, '.vnfpipe')).destroy(workload);
    try {
      docker('network', 'rm', north);
    } catch {
      // Never created.
    }
  });

  it('runs the VDU with its three interfaces in order, fixed addresses and the external network', async () => {
    const [mgmt, data, ext] = freeSubnets(3);
    const image = docker('image', 'inspect', '--format', '{{.Id}}', busyboxInDocker());
    // The test VNFD with names of this run, free subnets and the local busybox as its image.
    const text = readFileSync(VFW_JSON, 'utf8')
      .replaceAll('"fw"', `"fw-${id}"`)
      .replaceAll('"north"', `"${north}"`)
      .replaceAll('10.10.0', mgmt!.prefix)
      .replaceAll('10.20.0', data!.prefix)
      .replace('"registry.example.net/vnf/vfw:2.1"', JSON.stringify(image));
    const doc = JSON.parse(text);
    // Hugepages depend on the host's free pages: not this test's subject.
    delete doc['etsi-nfv-descriptors:nfv'].vnfd[0]['virtual-compute-desc'][0]['virtual-memory'][
      'vdu-mem-requirements'
    ];
    const file = writeTemp('vfw.json', doc);
    docker('network', 'create', '--subnet', ext!.cidr, north);

    // SOL006 has no entrypoint: the pipeline adds the one busybox needs to keep running.
    workload = { ...vnfd.workload(file, { flavour: 'small' }), command: ['sleep', '3600'] };
    const pipeline = definePipeline('vnfd-deploy', (p) => {
      p.step('deploy', deploy.docker({ workload: workload! }));
    });
    const run = await runPipeline(pipeline, { cwd: dir });
    expect(run.steps.deploy?.error).toBeUndefined();

    const container = `fw-${id}-r1`;
    const nets = JSON.parse(docker('inspect', '--format', '{{json .NetworkSettings.Networks}}', container));
    expect(nets[`fw-${id}-0-mgmt`].IPAMConfig.IPv4Address).toBe(mgmt!.ip(10));
    expect(nets[`fw-${id}-2-data-out`].IPAMConfig.IPv4Address).toBe(data!.ip(10));
    expect(Object.keys(nets)).toContain(north);
    // Interface order is the int-cpd `order`: eth0 mgmt, eth1 data-in (north), eth2 data-out.
    const addresses = docker('exec', container, 'ip', '-o', '-4', 'addr', 'show');
    expect(addresses).toMatch(new RegExp(`eth0\\s+inet ${mgmt!.pattern}\\.10/24`));
    expect(addresses).toMatch(new RegExp(`eth1\\s+inet ${ext!.pattern}\\.`));
    expect(addresses).toMatch(new RegExp(`eth2\\s+inet ${data!.pattern}\\.10/24`));
    expect(
      docker('inspect', '--format', '{{.HostConfig.CpusetCpus}} {{.HostConfig.Memory}}', container),
    ).toBe(`0-1 ${512 * 1024 * 1024}`);
  });
});
