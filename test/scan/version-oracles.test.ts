/**
 * Property tests of our version comparators against the real tools: `dpkg --compare-versions` for Debian
 * and `rpm.vercmp` (rpm's embedded Lua) for RPM, on pairs generated to sit close to each other.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { compareDebianVersions } from '../../src/scan/version/debian.ts';
import { compareRpmVersions } from '../../src/scan/version/rpm.ts';

const run = promisify(execFile);

/** Small deterministic PRNG (mulberry32), so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(r: () => number, items: readonly T[]): T {
  return items[Math.floor(r() * items.length)]!;
}

const DEB_TOKENS = [
  '0',
  '1',
  '2',
  '9',
  '10',
  '01',
  '007',
  '123',
  '.',
  '.',
  '+',
  '~',
  '~',
  'a',
  'b',
  'z',
  'A',
  'rc',
  'dfsg',
  'deb12u',
  'git',
  '~rc',
  '+b',
];
const DEB_REV_TOKENS = ['0', '1', '2', '10', '.', '+', '~', 'deb12u', 'ubuntu', 'bpo', 'a', '+b1', '~1'];

function debUpstream(r: () => number): string {
  let s = pick(r, ['0', '1', '2', '10', '1.0', '2.38.1', '9']);
  const n = Math.floor(r() * 4);
  for (let i = 0; i < n; i++) s += pick(r, DEB_TOKENS);
  return s;
}

function debVersion(r: () => number): string {
  const epoch = r() < 0.3 ? `${pick(r, ['0', '1', '2', '10'])}:` : '';
  let upstream = debUpstream(r);
  let revision = '';
  if (r() < 0.6) {
    revision = pick(r, ['0', '1', '5', '10']);
    const n = Math.floor(r() * 3);
    for (let i = 0; i < n; i++) revision += pick(r, DEB_REV_TOKENS);
    // A hyphen inside upstream is only allowed when there is a revision.
    if (r() < 0.1) upstream += `-${pick(r, ['1', 'a', '2'])}`;
  }
  return `${epoch}${upstream}${revision ? `-${revision}` : ''}`;
}

/** A neighbour of `v`: same version with one small edit, so comparisons exercise the fine rules. */
function mutate(r: () => number, v: string, make: (r: () => number) => string): string {
  const roll = r();
  if (roll < 0.2) return make(r);
  if (roll < 0.35) return v;
  const at = Math.floor(r() * (v.length + 1));
  const insert = pick(r, ['~', '0', '1', 'a', '.', '+', '~~', '.0', '00']);
  const cand = `${v.slice(0, at)}${insert}${v.slice(at)}`;
  return cand;
}

function validDeb(v: string): boolean {
  if (!/^(\d+:)?\d[A-Za-z0-9.+~:-]*$/.test(v)) return false;
  const noEpoch = v.replace(/^\d+:/, '');
  if (noEpoch.includes(':')) return false;
  const dash = noEpoch.lastIndexOf('-');
  if (dash !== -1) {
    const rev = noEpoch.slice(dash + 1);
    if (rev === '' || !/^[A-Za-z0-9.+~]+$/.test(rev)) return false;
    if (!/^\d/.test(noEpoch.slice(0, dash))) return false;
  }
  return true;
}

function debPairs(count: number, seed: number): Array<[string, string]> {
  const r = prng(seed);
  const pairs: Array<[string, string]> = [];
  // Fixed edge cases first.
  pairs.push(
    ['1.0', '1.0-0'],
    ['1.0~rc1', '1.0'],
    ['1:1.0', '2.0'],
    ['1.0a', '1.0+'],
    ['1.0~', '1.0~~'],
    ['0:1', '1'],
    ['01', '1'],
  );
  pairs.push(['2.38.1-5+deb12u3', '2.38.1-5+deb12u1'], ['1:2.38.1-5+deb12u3', '2.38.1-5+deb12u3']);
  while (pairs.length < count) {
    const a = debVersion(r);
    const b = mutate(r, a, debVersion);
    if (validDeb(a) && validDeb(b)) pairs.push([a, b]);
  }
  return pairs;
}

const RELATIONS = ['lt', 'eq', 'gt'] as const;

function holds(cmp: number, relation: (typeof RELATIONS)[number]): boolean {
  return relation === 'lt' ? cmp < 0 : relation === 'eq' ? cmp === 0 : cmp > 0;
}

describe('Debian version comparator vs dpkg', () => {
  it('agrees with dpkg --compare-versions on 6,000 generated pairs (epochs, tildes, revisions)', async () => {
    const pairs = debPairs(6000, 20261128);
    const r = prng(7);
    const asked = pairs.map(([a, b]) => ({ a, b, rel: pick(r, RELATIONS) }));
    const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-dpkg-'));
    // Four scripts in parallel; each line is one dpkg call printing 0 (true) or 1 (false).
    const batches = 4;
    const size = Math.ceil(asked.length / batches);
    const outputs = await Promise.all(
      Array.from({ length: batches }, async (_, k) => {
        const slice = asked.slice(k * size, (k + 1) * size);
        const script = join(dir, `batch-${k}.sh`);
        writeFileSync(
          script,
          slice
            .map((q) => `dpkg --compare-versions '${q.a}' ${q.rel} '${q.b}' 2>/dev/null; echo $?`)
            .join('\n'),
        );
        const { stdout } = await run('sh', [script], { maxBuffer: 1 << 24 });
        return stdout.trim().split('\n');
      }),
    );
    const answers = outputs.flat();
    expect(answers).toHaveLength(asked.length);
    const disagreements: string[] = [];
    asked.forEach((q, i) => {
      const dpkg = answers[i] === '0';
      const ours = holds(compareDebianVersions(q.a, q.b), q.rel);
      if (dpkg !== ours) disagreements.push(`${q.a} ${q.rel} ${q.b}: dpkg ${dpkg}, ours ${ours}`);
    });
    expect(disagreements.slice(0, 20)).toEqual([]);
    // The generated set really exercises all three outcomes and the tricky characters.
    const outcomes = new Set(pairs.map(([a, b]) => compareDebianVersions(a, b)));
    expect(outcomes).toEqual(new Set([-1, 0, 1]));
    expect(pairs.filter(([a]) => a.includes('~')).length).toBeGreaterThan(500);
    expect(pairs.filter(([a]) => a.includes(':')).length).toBeGreaterThan(500);
    expect(pairs.filter(([a]) => a.includes('-')).length).toBeGreaterThan(2000);
  });
});

function rpmVersion(r: () => number): string {
  const epoch = r() < 0.25 ? `${pick(r, ['0', '1', '2'])}:` : '';
  let v = pick(r, ['0', '1', '2', '10', '1.0', '2.38.1', '5.4']);
  const n = Math.floor(r() * 4);
  for (let i = 0; i < n; i++)
    v += pick(r, [
      '.',
      '.',
      '0',
      '1',
      '9',
      '10',
      '01',
      'a',
      'b',
      'rc',
      '~',
      '~rc',
      '^',
      '^git',
      '_',
      '+',
      'z',
      'Z',
    ]);
  const release = r() < 0.7 ? `-${pick(r, ['1', '2', '10', '1.el9', '3.fc40', '0.1.rc1', '1~bp'])}` : '';
  return `${epoch}${v}${release}`;
}

// rpm is a Debian package scripts/setup-deps.sh installs: without it this is a broken setup, not a skip.
describe('RPM version comparator vs rpm', () => {
  it('has the rpm oracle', () => {
    expect(existsSync('/usr/bin/rpm'), 'install the Debian package rpm (scripts/setup-deps.sh)').toBe(true);
  });

  it('agrees with rpm.vercmp on 4,000 generated pairs', async () => {
    const r = prng(424242);
    const pairs: Array<[string, string]> = [
      ['1.0~rc1', '1.0'],
      ['1.0^git1', '1.0'],
      ['1.0^git1', '1.0.1'],
      ['1:1', '2'],
      ['1.0-1', '1.0'],
      ['1.0a', '1.0.1'],
      ['1.01', '1.1'],
    ];
    while (pairs.length < 4000) {
      const a = rpmVersion(r);
      pairs.push([a, mutate(r, a, rpmVersion).replace(/-(?=[^-]*-)/g, '.')]);
    }
    // One rpm process evaluates every pair through its Lua interpreter.
    const lua = `local p={${pairs.map(([a, b]) => `{${JSON.stringify(a)},${JSON.stringify(b)}}`).join(',')}} for _,x in ipairs(p) do print(rpm.vercmp(x[1],x[2]) .. "\\n") end`;
    const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-rpm-'));
    const macro = join(dir, 'cmp.lua');
    writeFileSync(macro, lua);
    const { stdout } = await run('rpm', ['--eval', `%{lua: dofile(${JSON.stringify(macro)})}`], {
      maxBuffer: 1 << 24,
    });
    const answers = stdout.trim().split('\n').map(Number);
    expect(answers).toHaveLength(pairs.length);
    const disagreements = pairs
      .map(([a, b], i) => ({ a, b, rpm: answers[i], ours: compareRpmVersions(a, b) }))
      .filter((x) => Math.sign(x.rpm!) !== x.ours)
      .map((x) => `${x.a} vs ${x.b}: rpm ${x.rpm}, ours ${x.ours}`);
    expect(disagreements.slice(0, 20)).toEqual([]);
    expect(new Set(answers.map(Math.sign))).toEqual(new Set([-1, 0, 1]));
  });
});
