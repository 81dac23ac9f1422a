import { describe, expect, it } from 'vitest';
import type { Workload } from '../../src/deploy/model.js';
import type { ImageRef } from '../../src/pipeline/kinds.js';
import { outputRef } from '../../src/pipeline/output.js';
import { locateVnfd } from '../../src/vnfd/document.js';
import { exportVnfd } from '../../src/vnfd/export.js';
import { importVnfd, importVnfdFile } from '../../src/vnfd/import.js';
import { VFW_JSON, writeTemp, yanglint } from './support.js';

describe('SOL006 VNFD export', () => {
  for (const flavour of ['small', 'large']) {
    it(`exports the imported '${flavour}' workload as a VNFD the official modules accept, and imports it back unchanged`, () => {
      const imported = importVnfdFile(VFW_JSON, { flavour });
      const { document } = exportVnfd([imported.workload]);
      const file = writeTemp('exported.json', document);
      expect(yanglint(file)).toEqual({ status: 0, errors: '' });

      const again = importVnfd(locateVnfd(JSON.parse(JSON.stringify(document)), file));
      expect(again.workload).toEqual(imported.workload);
      expect(again.flavour).toBe(flavour);
    });
  }

  it('yanglint does refuse a VNFD that breaks the schema (the check above can fail)', () => {
    const { document } = exportVnfd([importVnfdFile(VFW_JSON).workload]);
    const vnfd = (document['etsi-nfv-descriptors:nfv'] as { vnfd: Array<Record<string, unknown>> }).vnfd[0]!;
    delete vnfd.provider;
    const result = yanglint(writeTemp('broken.json', document));
    expect(result.status).not.toBe(0);
    expect(result.errors).toContain('Mandatory node "provider" instance does not exist');
  });

  it('exports a hand-written workload, listing what SOL006 cannot carry', () => {
    const workload: Workload = {
      name: 'vrouter',
      image: 'registry.example.net/vnf/vrouter@sha256:' + 'a'.repeat(64),
      replicas: 3,
      command: ['/usr/sbin/vrouter'],
      env: { MODE: 'edge' },
      security: { capabilities: ['NET_ADMIN'] },
      resources: { cpus: 1.5, memory: '300Mi', memlock: 'unlimited' },
      networks: [
        { role: 'mgmt', subnet: '172.30.0.0/24', ip: '172.30.0.5', mac: '02:42:ac:1e:00:05' },
        { role: 'core', driver: 'macvlan', parent: 'eth1' },
      ],
    };
    const { document, unexported } = exportVnfd([workload]);
    const file = writeTemp('vrouter.json', document);
    expect(yanglint(file)).toEqual({ status: 0, errors: '' });
    const fields = unexported.map((u) => u.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        'vrouter: command',
        'vrouter: env',
        'vrouter: security',
        'vrouter: resources.memlock',
        'vrouter: resources.cpus',
        'vrouter: resources.memory',
        'vrouter: networks[0].mac',
        'vrouter: networks[1].driver',
        'vrouter: networks[1].parent',
      ]),
    );
    const back = importVnfd(locateVnfd(document, file)).workload;
    expect(back.replicas).toBe(3);
    expect(back.resources).toEqual({ cpus: 2, memory: '307Mi' });
    expect(back.networks?.[0]).toEqual({
      role: 'mgmt',
      subnet: '172.30.0.0/24',
      ip: '172.30.0.5',
    });
  });

  it('a workload whose image is a step output exports with a placeholder and says so', () => {
    const image = outputRef<ImageRef>('push');
    const { document, unexported } = exportVnfd([{ name: 'late', image, networks: [{ role: 'mgmt' }] }]);
    expect(unexported.find((u) => u.field === 'late: image')?.reason).toBe(
      'the image is push.out, known only when the pipeline runs: the checksum is a placeholder',
    );
    expect(yanglint(writeTemp('late.json', document))).toEqual({ status: 0, errors: '' });
  });

  it('an image given as an ImageRef is written pinned by its digest', () => {
    const digest = `sha256:${'b'.repeat(64)}`;
    const { document } = exportVnfd([
      {
        name: 'pinned',
        image: { ref: 'registry.example.net/vnf/x:1.0', digest },
        networks: [{ role: 'mgmt' }],
      },
    ]);
    expect(importVnfd(locateVnfd(document, 'pinned.json')).workload.image).toBe(
      `registry.example.net/vnf/x@${digest}`,
    );
  });
});
