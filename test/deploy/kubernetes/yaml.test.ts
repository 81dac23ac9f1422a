import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
// Through the vnfpipe/deploy entry, which scripts and a later `vnfpipe render` use.
import { renderKubernetes, toYaml } from '../../../src/deploy/index.ts';
import { IMAGE } from './support.ts';

describe('toYaml', () => {
  const objects = renderKubernetes(
    {
      name: 'vfw',
      image: IMAGE,
      replicas: 2,
      networks: [
        { role: 'mgmt' },
        { role: 'data', driver: 'macvlan', parent: 'ens1f0', subnet: '10.10.1.0/24', ip: '10.10.1.10' },
      ],
      files: [{ path: '/etc/vfw.conf', content: 'a\nb\n' }],
      ports: [{ container: 830 }],
    },
    { namespace: 'vnf', image: IMAGE },
  );
  const text = toYaml(objects);

  it('writes one document per object that reads back to the same objects', () => {
    const documents = parseAllDocuments(text);
    expect(Array.isArray(documents)).toBe(true);
    const parsed = (documents as Array<{ errors: unknown[]; toJS(): unknown }>).map((doc) => {
      expect(doc.errors).toEqual([]);
      return doc.toJS();
    });
    expect(parsed).toEqual(objects);
  });

  it('writes no anchors or aliases and never folds the networks annotation', () => {
    expect(text).not.toMatch(/[&*]a\d/);
    const line = text.split('\n').find((l) => l.includes('k8s.v1.cni.cncf.io/networks:'));
    expect(line).toContain('"ips":["10.10.1.10/24"]');
  });
});
