import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { requireDocker } from './docker.js';
import { docker } from './engine-images.js';
import { freePrefix16, freeSubnets, pickSubnets, toInt, usedRanges } from './subnets.js';

const range = (cidr: string): [number, number] => {
  const [ip, bits] = cidr.split('/') as [string, string];
  return [toInt(ip), toInt(ip) + 2 ** (32 - Number(bits)) - 1];
};

describe('free test subnets', () => {
  it('skips every /24 a used range overlaps, wider or narrower', () => {
    const used = [range('10.128.0.0/10'), range('10.192.0.0/11'), range('10.224.0.0/12')];
    used.push(range('10.240.0.0/13'), range('10.248.0.0/14'), range('10.252.0.0/15'), range('10.254.0.0/16'));
    used.push(
      range('10.255.0.0/24'),
      range('10.255.1.128/25'),
      range('10.255.3.7/32'),
      range('10.255.5.0/24'),
    );
    expect(pickSubnets(3, used, 0).map((s) => s.cidr)).toEqual([
      '10.255.2.0/24',
      '10.255.4.0/24',
      '10.255.6.0/24',
    ]);
    const [one] = pickSubnets(1, used, 0);
    expect(one?.ip(10)).toBe('10.255.2.10');
    expect(new RegExp(`^${one?.pattern}\\.10$`).test('10.255.2.10')).toBe(true);
    expect(new RegExp(`^${one?.pattern}\\.10$`).test('10x255.2.10')).toBe(false);
    expect(() => pickSubnets(1, [range('10.128.0.0/9')])).toThrow(/only 0 free/);
  });

  it('finds a two-octet prefix whose numbered /24s are all free', () => {
    const used = [range('10.128.0.0/10'), range('10.192.0.0/11'), range('10.224.0.0/12')];
    used.push(range('10.240.0.0/13'), range('10.248.0.0/14'), range('10.252.0.0/15'), range('10.254.2.0/24'));
    expect(freePrefix16([1, 2, 3], used, 0)).toBe('10.255');
    expect(freePrefix16([1, 3], used, 0)).toBe('10.254');
    expect(() => freePrefix16([1], [range('10.128.0.0/9')])).toThrow(/no 10.x prefix/);
  });

  it('sees the subnets of the engine networks, and never hands one out', () => {
    requireDocker();
    const [taken] = freeSubnets(1);
    const name = `vnfpipe-subnet-${randomBytes(4).toString('hex')}`;
    docker('network', 'create', '--subnet', taken!.cidr, name);
    try {
      expect(usedRanges()).toContainEqual(range(taken!.cidr));
      // Searching from the taken /24 on: the next one is handed out instead.
      const [, second, third] = taken!.prefix.split('.').map(Number) as [number, number, number];
      const [next] = pickSubnets(1, usedRanges(), (second - 128) * 256 + third);
      expect(next?.cidr).not.toBe(taken!.cidr);
      expect(new Set(freeSubnets(50).map((s) => s.cidr)).size).toBe(50);
    } finally {
      docker('network', 'rm', name);
    }
  });
});
