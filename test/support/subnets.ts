/**
 * /24 subnets no Docker network and no host route uses, for tests that create networks while other test runs
 * do the same: picked at random from 10.128.0.0/9, so concurrent runs rarely try the same one.
 */
import { execFileSync } from 'node:child_process';
import { DOCKER } from './docker.js';

function used(): string[] {
  const ids = execFileSync(DOCKER, ['network', 'ls', '-q'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const subnets = ids.length
    ? execFileSync(
        DOCKER,
        ['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}} {{end}}', ...ids],
        { encoding: 'utf8' },
      ).split(/\s+/)
    : [];
  const routes = execFileSync('ip', ['-4', 'route'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '');
  return [...subnets, ...routes].filter((s) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(s));
}

const toInt = (ip: string) => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);

function overlaps(a: string, b: string): boolean {
  const [ipA = '', bitsA = '32'] = a.split('/');
  const [ipB = '', bitsB = '32'] = b.split('/');
  const bits = Math.min(Number(bitsA), Number(bitsB));
  const block = 2 ** (32 - bits);
  return Math.floor(toInt(ipA) / block) === Math.floor(toInt(ipB) / block);
}

/** `count` free /24 subnets, e.g. `10.173.41.0/24`. */
export function freeSubnets(count: number): string[] {
  const taken = used();
  const chosen: string[] = [];
  while (chosen.length < count) {
    const n = Math.floor(Math.random() * 2 ** 15);
    const subnet = `10.${128 + (n >> 8)}.${n & 255}.0/24`;
    if (![...taken, ...chosen].some((other) => overlaps(subnet, other))) chosen.push(subnet);
  }
  return chosen;
}
