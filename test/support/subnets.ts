/**
 * Free IPv4 subnets for test networks. Fixed subnets collide when two checkouts test on one engine (or a
 * run left a network behind), so each test asks for /24s no Docker network and no host route uses, picked at
 * random from 10.128.0.0/9 (swarm and Docker's default pools hand out 10.0.x, 172.17+ and 192.168).
 */
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { DOCKER } from './docker.js';

export interface Subnet {
  /** `10.147.3.0/24` */
  cidr: string;
  /** `10.147.3` */
  prefix: string;
  /** The address `<prefix>.<host>`. */
  ip(host: number): string;
  /** `prefix` escaped for a regular expression. */
  pattern: string;
}

/** The pool: the 32768 /24s of 10.128.0.0/9. */
const POOL_START = 10 * 2 ** 24 + 128 * 2 ** 16;
const POOL = 128 * 256;

export function toInt(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

/** Every IPv4 range (start, end) the engine's networks and the host's routes cover. */
export function usedRanges(): Array<[number, number]> {
  const run = (file: string, args: string[]) =>
    execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const ids = run(DOCKER, ['network', 'ls', '-q']).split('\n').filter(Boolean);
  let text = '';
  // A network removed between `ls` and `inspect` makes inspect fail: ask again for the rest.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      text = run(DOCKER, [
        'network',
        'inspect',
        '--format',
        '{{range .IPAM.Config}}{{.Subnet}} {{end}}',
        ...ids,
      ]);
      break;
    } catch {
      text = ids
        .map((id) => {
          try {
            return run(DOCKER, [
              'network',
              'inspect',
              '--format',
              '{{range .IPAM.Config}}{{.Subnet}} {{end}}',
              id,
            ]);
          } catch {
            return '';
          }
        })
        .join(' ');
    }
  }
  text += ` ${run('ip', ['-4', '-o', 'route', 'show', 'table', 'all']).replace(/\bdefault\b/g, '')}`;
  const ranges: Array<[number, number]> = [];
  for (const [, ip, bits] of text.matchAll(/\b(\d+\.\d+\.\d+\.\d+)\/(\d+)\b/g)) {
    const size = 2 ** (32 - Number(bits));
    const start = Math.floor(toInt(ip!) / size) * size;
    ranges.push([start, start + size - 1]);
  }
  return ranges;
}

/** `count` distinct /24 subnets that no network or route of this machine overlaps right now. */
export function freeSubnets(count: number): Subnet[] {
  return pickSubnets(count, usedRanges());
}

/** /24s of 10.128.0.0/9 outside `used`, from a random place on (so two runs seldom pick the same). */
export function pickSubnets(
  count: number,
  used: Array<[number, number]>,
  offset = randomInt(0, POOL),
): Subnet[] {
  const chosen: Subnet[] = [];
  for (let i = 0; i < POOL && chosen.length < count; i++) {
    const start = POOL_START + ((offset + i) % POOL) * 256;
    if (used.some(([from, to]) => start <= to && start + 255 >= from)) continue;
    const prefix = `10.${(start >> 16) & 255}.${(start >> 8) & 255}`;
    chosen.push({
      cidr: `${prefix}.0/24`,
      prefix,
      ip: (host: number) => `${prefix}.${host}`,
      pattern: prefix.replace(/\./g, '\\.'),
    });
  }
  if (chosen.length < count) throw new Error(`only ${chosen.length} free /24 subnets in 10.128.0.0/9`);
  return chosen;
}

/**
 * A `10.<n>` prefix whose `10.<n>.<t>.0/24` is free for every `t` in `thirds`: for pipelines that take the
 * first two octets and number their networks themselves (the example VNF's VFW_NET).
 */
export function freePrefix16(thirds: number[], used = usedRanges(), offset = randomInt(0, 128)): string {
  for (let i = 0; i < 128; i++) {
    const second = 128 + ((offset + i) % 128);
    const clash = thirds.some((third) => {
      const start = toInt(`10.${second}.${third}.0`);
      return used.some(([from, to]) => start <= to && start + 255 >= from);
    });
    if (!clash) return `10.${second}`;
  }
  throw new Error(`no 10.x prefix in 10.128.0.0/9 with free /24s ${thirds.join(', ')}`);
}
