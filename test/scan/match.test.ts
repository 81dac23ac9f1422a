/** OSV import and matching: fixture advisories match or skip exactly as designed. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import type { VnfpipeError } from '../../src/errors.ts';
import { dpkgPackage, parseDpkgStatus } from '../../src/scan/catalog/dpkg.ts';
import { importOsv, readDbMeta, VulnDb } from '../../src/scan/db/store.ts';
import { evaluateRange, matchPackages } from '../../src/scan/match.ts';
import type { VulnFinding } from '../../src/scan/model.ts';
import { compareApkVersions } from '../../src/scan/version/apk.ts';
import { compareDebianVersions } from '../../src/scan/version/debian.ts';
import { comparePep440 } from '../../src/scan/version/pep440.ts';
import { FIXTURES, fixtureDb } from './support/fixtures.ts';

const bookworm = {
  id: 'debian',
  versionId: '12',
  versionCodename: 'bookworm',
  prettyName: 'Debian GNU/Linux 12 (bookworm)',
};

function packagesOf(fixture: string) {
  const text = readFileSync(join(FIXTURES, 'dpkg', fixture), 'utf8');
  return parseDpkgStatus(text, fixture).map((e) =>
    dpkgPackage(e, bookworm, '/var/lib/dpkg/status', 0, 'sha256:0'),
  );
}

const rows = (findings: VulnFinding[]) =>
  findings.map((f) => `${f.id} ${f.package.name} ${f.status} ${f.fixedVersion ?? '-'} ${f.severity}`).sort();

let db: VulnDb;

beforeAll(async () => {
  db = await VulnDb.open(await fixtureDb('debian'));
});

describe('OSV import', () => {
  it('indexes records per ecosystem and skips withdrawn ones', async () => {
    expect(db.meta.ecosystems).toEqual({ 'Debian:10': 1, 'Debian:12': 8, 'Debian:13': 1 });
    expect(db.meta.records).toBe(10);
    expect(await db.lookup('Debian:12', 'util-linux')).toHaveLength(2);
  });

  it('refuses a corrupt OSV zip with SCAN_DATA, naming the file (exit 2 from db import)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-osvzip-bad-'));
    const record = readFileSync(join(FIXTURES, 'osv', 'debian', 'DSA-5514-1.json'));
    const whole = zip([['DSA-5514-1.json', record]]);
    const file = join(dir, 'all.zip');
    writeFileSync(file, whole.subarray(0, whole.length - 30));
    const error = await importOsv(join(dir, 'db'), [file]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SCAN_DATA', where: expect.stringContaining('all.zip') });
    expect((error as VnfpipeError).hint).toMatch(/download/);
    expect((error as VnfpipeError).exitCode).toBe(2);
  });

  it('imports an OSV zip export and replaces re-imported ids', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-osvzip-'));
    const record = readFileSync(join(FIXTURES, 'osv', 'debian', 'DSA-5514-1.json'));
    writeFileSync(join(dir, 'all.zip'), zip([['DSA-5514-1.json', record]]));
    const target = join(dir, 'db');
    const first = await importOsv(target, [join(dir, 'all.zip')]);
    expect(first.records).toBe(1);
    const changed = JSON.parse(record.toString());
    changed.affected[0].ranges[0].events[1].fixed = '2.36-9+deb12u4';
    writeFileSync(join(dir, 'DSA-5514-1.json'), JSON.stringify(changed));
    await importOsv(target, [join(dir, 'DSA-5514-1.json')]);
    const reopened = await VulnDb.open(target);
    const advisories = await reopened.lookup('Debian:12', 'glibc');
    expect(advisories).toHaveLength(1);
    expect(JSON.stringify(advisories[0]!.ranges)).toContain('2.36-9+deb12u4');
    expect((await readDbMeta(target))?.ecosystems).toEqual({ 'Debian:12': 1 });
  });

  it('rejects records that break the OSV schema, naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-osvbad-'));
    writeFileSync(
      join(dir, 'bad.json'),
      JSON.stringify({
        id: 'X-1',
        modified: '2024-01-01T00:00:00Z',
        affected: [
          {
            package: { ecosystem: 'npm', name: 'a' },
            ranges: [{ type: 'SEMVER', events: [{ fixed: '1', introduced: '0' }] }],
          },
        ],
      }),
    );
    await expect(importOsv(join(dir, 'db'), [dir])).rejects.toMatchObject({
      message: expect.stringMatching(/exactly one of introduced/),
      where: join(dir, 'bad.json'),
    });
  });
});

describe('Debian matching by source package and source version', () => {
  it('matches the current minbase snapshot: only advisories without a bookworm fix', async () => {
    const { findings, gaps } = await matchPackages(packagesOf('status-bookworm-minbase'), bookworm, db);
    expect(gaps).toEqual([]);
    const utilLinux = [
      'bsdutils',
      'libblkid1',
      'libmount1',
      'libsmartcols1',
      'libuuid1',
      'mount',
      'util-linux',
      'util-linux-extra',
    ];
    expect(rows(findings)).toEqual(
      [
        ...utilLinux.map((p) => `DEBIAN-CVE-2022-0563 ${p} unfixed - low`),
        'DEBIAN-CVE-2010-4756 libc-bin unfixed - low',
        'DEBIAN-CVE-2010-4756 libc6 unfixed - low',
      ].sort(),
    );
    // Fixed earlier (DSA-5514-1 at deb12u3 < deb12u14), fixed at exactly the installed version (tar), other
    // releases (DLA-3782-1 for Debian 10, xz for Debian 13), binary-name records and withdrawn ones: none match.
    const bsdutils = findings.find((f) => f.package.name === 'bsdutils')!;
    expect(bsdutils.package.source).toBe('util-linux@2.38.1-5+deb12u3');
    expect(bsdutils.ecosystem).toBe('Debian:12');
  });

  it('matches release-era versions with their fixed versions (the binary epoch must not hide them)', async () => {
    const { findings } = await matchPackages(packagesOf('status-bookworm-12.0-excerpt'), bookworm, db);
    expect(rows(findings)).toEqual(
      [
        'DEBIAN-CVE-2024-28085 bsdutils fixed 2.38.1-5+deb12u1 low',
        'DEBIAN-CVE-2022-0563 bsdutils unfixed - low',
        'DEBIAN-CVE-2024-28085 util-linux fixed 2.38.1-5+deb12u1 low',
        'DEBIAN-CVE-2022-0563 util-linux unfixed - low',
        'DSA-5514-1 libc6 fixed 2.36-9+deb12u3 high',
        'DSA-5673-1 libc6 fixed 2.36-9+deb12u7 unknown',
        'DEBIAN-CVE-2010-4756 libc6 unfixed - low',
        'DSA-5578-1 perl-base fixed 5.36.0-7+deb12u1 high',
        'DEBIAN-CVE-2023-39804 tar fixed 1.34+dfsg-1.2+deb12u1 unknown',
      ].sort(),
    );
    // The pitfall: bsdutils' binary version 1:2.38.1-5+b1 sorts above the fix (epoch 1 > 0); its source
    // version 2.38.1-5 is what the advisory is about.
    expect(compareDebianVersions('1:2.38.1-5+b1', '2.38.1-5+deb12u1')).toBe(1);
    expect(compareDebianVersions('2.38.1-5', '2.38.1-5+deb12u1')).toBe(-1);
  });

  it('reports a distro the database does not cover as a gap, not as clean', async () => {
    const packages = packagesOf('status-bookworm-12.0-excerpt');
    const { findings, gaps } = await matchPackages(packages, { ...bookworm, versionId: '11' }, db);
    expect(findings).toEqual([]);
    expect(gaps.map((g) => g.what)).toEqual(['the vulnerability database has no Debian:11 advisories']);
    const ubuntu = await matchPackages(
      packages,
      { id: 'ubuntu', versionId: '22.04', versionCodename: undefined, prettyName: 'Ubuntu 22.04' },
      db,
    );
    expect(ubuntu.gaps.map((g) => g.what)).toEqual([
      'no vulnerability matching for deb packages on Ubuntu 22.04 yet',
    ]);
  });

  it('merges advisories that name the same vulnerability', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-osvdup-'));
    const base = JSON.parse(
      readFileSync(join(FIXTURES, 'osv', 'debian', 'DEBIAN-CVE-2022-0563.json'), 'utf8'),
    );
    writeFileSync(join(dir, 'a.json'), JSON.stringify(base));
    writeFileSync(
      join(dir, 'b.json'),
      JSON.stringify({ ...base, id: 'CVE-2022-0563', aliases: ['DEBIAN-CVE-2022-0563'] }),
    );
    await importOsv(join(dir, 'db'), [dir]);
    const dup = await VulnDb.open(join(dir, 'db'));
    const { findings } = await matchPackages(
      packagesOf('status-bookworm-12.0-excerpt').filter((p) => p.name === 'bsdutils'),
      bookworm,
      dup,
    );
    // One finding, whichever record came first, carrying the other's id as an alias.
    expect(findings.map((f) => [f.id, f.aliases])).toEqual([['DEBIAN-CVE-2022-0563', ['CVE-2022-0563']]]);
  });
});

describe('OSV range evaluation', () => {
  const cmp = compareDebianVersions;
  const range = (...events: Array<Record<string, string>>) => ({
    type: 'ECOSYSTEM' as const,
    events: events as never,
  });
  it('handles several introduced/fixed pairs, last_affected and limit', () => {
    const r = range({ introduced: '0' }, { fixed: '1.0' }, { introduced: '2.0' }, { fixed: '2.5' });
    expect(evaluateRange(r, '0.5', cmp)).toEqual({ affected: true, fixed: '1.0' });
    expect(evaluateRange(r, '1.5', cmp)).toEqual({ affected: false });
    expect(evaluateRange(r, '2.2', cmp)).toEqual({ affected: true, fixed: '2.5' });
    expect(evaluateRange(r, '2.5', cmp)).toEqual({ affected: false });
    expect(evaluateRange(range({ introduced: '1.0' }, { last_affected: '1.4' }), '1.4', cmp)).toEqual({
      affected: true,
    });
    expect(evaluateRange(range({ introduced: '1.0' }, { last_affected: '1.4' }), '1.4.1', cmp)).toEqual({
      affected: false,
    });
    expect(evaluateRange(range({ introduced: '1.0' }, { limit: '2.0' }), '2.0', cmp)).toEqual({
      affected: false,
    });
    expect(evaluateRange(range({ introduced: '1.0' }), '0.9', cmp)).toEqual({ affected: false });
  });
});

describe('other comparators', () => {
  it('orders PEP 440 versions', () => {
    const ordered = [
      '1.0.dev1',
      '1.0a1',
      '1.0a2.dev1',
      '1.0a2',
      '1.0b1',
      '1.0rc1',
      '1.0',
      '1.0+local.1',
      '1.0.post1',
      '1.1',
      '2!0.1',
    ];
    for (let i = 1; i < ordered.length; i++)
      expect([ordered[i - 1], comparePep440(ordered[i - 1]!, ordered[i]!)]).toEqual([ordered[i - 1], -1]);
    expect(comparePep440('1.0', '1.0.0')).toBe(0);
    expect(comparePep440('2.31.0', '2.28.1')).toBe(1);
  });
  it('orders apk versions', () => {
    const ordered = ['1.2.3_alpha', '1.2.3_rc1', '1.2.3', '1.2.3-r1', '1.2.3_p1', '1.2.3a', '1.2.4', '1.10'];
    for (let i = 1; i < ordered.length; i++)
      expect([ordered[i - 1], compareApkVersions(ordered[i - 1]!, ordered[i]!)]).toEqual([
        ordered[i - 1],
        -1,
      ]);
    expect(compareApkVersions('3.1.4-r5', '3.1.4-r5')).toBe(0);
  });
});

/** A stored+deflated zip, written by hand to exercise the reader. */
function zip(files: Array<[string, Buffer]>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of files) {
    const packed = deflateRawSync(data);
    const n = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(n.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, n, packed);
    centrals.push(central, n);
    offset += 30 + n.length + packed.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
