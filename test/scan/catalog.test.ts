/** Catalogers on committed fixtures and synthetic images: dpkg (status and status.d), apk, npm, Python, Go. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseApkInstalled } from '../../src/scan/catalog/apk.ts';
import { dpkgPackage, parseDpkgStatus } from '../../src/scan/catalog/dpkg.ts';
import { goBuildInfoSink, parseGoBuildInfo } from '../../src/scan/catalog/gobin.ts';
import { parseOsRelease } from '../../src/scan/catalog/osrelease.ts';
import { parseRpmDb } from '../../src/scan/catalog/rpm.ts';
import { scanImage } from '../../src/scan/scanner.ts';
import { FIXTURES } from './support/fixtures.ts';
import { goBuildInfoBlob } from './support/go.ts';
import { appImage } from './support/images.ts';
import { gzLayer, makeTar, writeLayout } from './support/oci.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const bookworm = {
  id: 'debian',
  versionId: '12',
  versionCodename: 'bookworm',
  prettyName: 'Debian GNU/Linux 12 (bookworm)',
};

describe('dpkg', () => {
  it('lists exactly what dpkg-query lists for the minbase status file, with source names and versions', () => {
    const entries = parseDpkgStatus(fixture('dpkg/status-bookworm-minbase'), 'status');
    const ours = entries
      .map((e) => [e.name, e.version, e.arch, e.sourceName, e.sourceVersion].join('\t'))
      .sort();
    const dpkg = fixture('dpkg/dpkg-query-bookworm-minbase.tsv').trim().split('\n').sort();
    expect(ours).toEqual(dpkg);
    expect(ours).toHaveLength(88);
  });

  it('builds distro purls (the binary version, with epoch; arch and distro qualifiers)', () => {
    const e = parseDpkgStatus(fixture('dpkg/status-bookworm-minbase'), 'status').find(
      (x) => x.name === 'bsdutils',
    )!;
    const pkg = dpkgPackage(e, bookworm, '/var/lib/dpkg/status', 0, 'sha256:x');
    expect(pkg.purl).toBe('pkg:deb/debian/bsdutils@1:2.38.1-5+deb12u3?arch=amd64&distro=debian-12');
    expect(pkg.source).toEqual({ name: 'util-linux', version: '2.38.1-5+deb12u3' });
  });

  it('skips removed packages (config-files) and keeps binNMU source versions', () => {
    const entries = parseDpkgStatus(fixture('dpkg/status-bookworm-12.0-excerpt'), 'status');
    expect(entries.map((e) => e.name)).toEqual(['bsdutils', 'util-linux', 'libc6', 'perl-base', 'tar']);
    expect(entries[0]).toMatchObject({
      version: '1:2.38.1-5+b1',
      sourceName: 'util-linux',
      sourceVersion: '2.38.1-5',
    });
  });

  it('reads os-release', () => {
    expect(
      parseOsRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_ID="12"\nID=debian\n'),
    ).toMatchObject({ id: 'debian', versionId: '12' });
    expect(parseOsRelease('NAME=x\n')).toBeUndefined();
  });
});

describe('apk', () => {
  it('reads name, version and origin', () => {
    const text =
      'C:Q1abc=\nP:libcrypto3\nV:3.1.4-r5\nA:x86_64\nL:Apache-2.0\no:openssl\n\nP:musl\nV:1.2.4-r2\nA:x86_64\no:musl\n';
    expect(parseApkInstalled(text, 'installed')).toEqual([
      { name: 'libcrypto3', version: '3.1.4-r5', arch: 'x86_64', origin: 'openssl', license: 'Apache-2.0' },
      { name: 'musl', version: '1.2.4-r2', arch: 'x86_64', origin: 'musl' },
    ]);
  });
});

describe('Go build info', () => {
  it('parses the Go version, main module, dependencies and replacements', () => {
    const info = parseGoBuildInfo(
      goBuildInfoBlob(
        'go1.21.1',
        'path\texample.com/app\nmod\texample.com/app\tv1.2.3\th1:abc=\ndep\tgolang.org/x/net\tv0.15.0\th1:x=\ndep\tgithub.com/a/b\tv1.0.0\n=>\tgithub.com/fork/b\tv1.0.1\th1:y=\n',
      ),
    );
    expect(info).toEqual({
      goVersion: 'go1.21.1',
      main: { path: 'example.com/app', version: 'v1.2.3' },
      deps: [
        { path: 'golang.org/x/net', version: 'v0.15.0' },
        { path: 'github.com/fork/b', version: 'v1.0.1' },
      ],
    });
  });
});

describe('catalogue of a layered image', () => {
  it('finds dpkg (status and distroless status.d), npm, Python and Go packages, each with its layer', async () => {
    const result = await scanImage(appImage(), { skipVulnerabilities: true });
    expect(result.gaps).toEqual([]);
    expect(result.image.os).toMatchObject({ id: 'debian', versionId: '12' });
    const rows = result.packages.map((p) => `${p.type} ${p.name} ${p.version} L${p.layer} ${p.purl}`);
    expect(rows).toEqual([
      'deb base-files 12.4+deb12u5 L1 pkg:deb/debian/base-files@12.4+deb12u5?arch=amd64&distro=debian-12',
      'deb bsdutils 1:2.38.1-5+b1 L0 pkg:deb/debian/bsdutils@1:2.38.1-5+b1?arch=amd64&distro=debian-12',
      'deb libc6 2.36-9 L0 pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12',
      'deb perl-base 5.36.0-7 L0 pkg:deb/debian/perl-base@5.36.0-7?arch=amd64&distro=debian-12',
      // Upgraded in layer 1: attributed to the layer that installed this version.
      'deb tar 1.34+dfsg-1.2+deb12u1 L1 pkg:deb/debian/tar@1.34+dfsg-1.2+deb12u1?arch=amd64&distro=debian-12',
      'deb util-linux 2.38.1-5+b1 L0 pkg:deb/debian/util-linux@2.38.1-5+b1?arch=amd64&distro=debian-12',
      'golang example.com/app v1.2.3 L1 pkg:golang/example.com/app@v1.2.3',
      'golang golang.org/x/net v0.15.0 L1 pkg:golang/golang.org/x/net@v0.15.0',
      'golang stdlib v1.21.1 L1 pkg:golang/stdlib@v1.21.1',
      'npm @scope/pkg 1.0.0 L1 pkg:npm/%40scope/pkg@1.0.0',
      'npm lodash 4.17.20 L1 pkg:npm/lodash@4.17.20',
      'pypi requests 2.28.1 L1 pkg:pypi/requests@2.28.1',
    ]);
  });

  it('reads rpmdb.sqlite like rpm -qa does, and reports Berkeley DB rpm databases as a gap', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-catalog-'));
    writeLayout(dir, {
      tag: 'rpm',
      layers: [
        gzLayer(
          makeTar([
            { path: 'etc/os-release', data: 'ID="rocky"\nVERSION_ID="9.3"\n' },
            { path: 'var/lib/rpm/rpmdb.sqlite', data: readFileSync(join(FIXTURES, 'rpm', 'rpmdb.sqlite')) },
          ]),
        ),
      ],
    });
    const result = await scanImage(`oci:${dir}:rpm`, { skipVulnerabilities: true });
    expect(result.gaps).toEqual([]);
    const rows = result.packages.map((p) => `${p.name}\t${p.version}\t${p.arch}\t${p.licenses?.[0]}`).sort();
    const expected = fixture('rpm/rpm-qa.tsv')
      .trim()
      .split('\n')
      .map((l) => {
        const [name, evr, arch, , license] = l.split('\t');
        return `${name}\t${evr!.replace(/^0:/, '')}\t${arch}\t${license}`;
      })
      .sort();
    expect(rows).toEqual(expected);
    expect(result.packages.find((p) => p.name === 'openssl-libs')?.purl).toBe(
      'pkg:rpm/rocky/openssl-libs@3.0.7-27.el9?arch=noarch&distro=rocky-9.3&epoch=1',
    );
    const bdb = mkdtempSync(join(tmpdir(), 'vnfpipe-catalog-'));
    writeLayout(bdb, {
      tag: 'x',
      layers: [gzLayer(makeTar([{ path: 'var/lib/rpm/Packages', data: 'bdb' }]))],
    });
    const partial = await scanImage(`oci:${bdb}:x`, { skipVulnerabilities: true });
    expect(partial.gaps.map((g) => g.what)).toEqual([
      'rpm Berkeley DB / ndb databases are not supported yet (only rpmdb.sqlite): rpm packages were not catalogued',
    ]);
  });

  it('skips copies of the magic that are not a header, wherever chunks split', () => {
    const blob = goBuildInfoBlob('go1.22.0', 'path\tx\nmod\tx\tv1.0.0\t\n');
    const decoy = Buffer.from('\xff Go buildinf:\x00\x00 a string constant', 'latin1');
    const file = Buffer.concat([
      Buffer.from('\x7fELF', 'latin1'),
      Buffer.alloc(100),
      decoy,
      Buffer.alloc(100),
      blob,
      Buffer.alloc(10),
    ]);
    for (let size = 1; size <= 64; size += 3) {
      let found: unknown;
      const sink = goBuildInfoSink(
        (info) => (found = info.goVersion),
        () => (found = 'unreadable'),
      );
      for (let i = 0; i < file.length; i += size) sink.data(file.subarray(i, i + size));
      sink.end();
      expect([size, found]).toEqual([size, 'go1.22.0']);
    }
  });

  it('reports a Go binary whose build info it cannot read as a gap', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-catalog-'));
    const old = Buffer.concat([
      Buffer.from('\x7fELF', 'latin1'),
      Buffer.alloc(5000),
      Buffer.from('\xff Go buildinf:\x08\x00', 'latin1'),
      Buffer.alloc(64),
    ]);
    writeLayout(dir, {
      tag: 'go',
      layers: [gzLayer(makeTar([{ path: 'bin/old', data: old, mode: 0o755 }]))],
    });
    const result = await scanImage(`oci:${dir}:go`, { skipVulnerabilities: true });
    expect(result.packages).toEqual([]);
    expect(result.gaps.map((g) => g.what)).toEqual([
      'Go binary built before Go 1.18 (or with unreadable build info): its modules were not catalogued',
    ]);
  });

  it('reads every row of a multi-level b-tree with overflow pages', () => {
    const data = gunzipSync(readFileSync(join(FIXTURES, 'rpm', 'rpmdb-many.sqlite.gz')));
    const counts = new Map<string, number>();
    for (const e of parseRpmDb(data, 'many')) counts.set(e.name, (counts.get(e.name) ?? 0) + 1);
    // rpm -qa on the same file (rpm-qa-many.txt): 256 hello, 256 openssl-libs, one 34 KB bigpkg header.
    const expected = fixture('rpm/rpm-qa-many.txt')
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .map(([n, name]) => [name!, Number(n)] as const);
    expect(new Map(expected)).toEqual(counts);
    expect(() => parseRpmDb(Buffer.from('not a database'), 'x')).toThrow(/not an SQLite 3 database/);
    const truncated = data.subarray(0, 8192);
    expect(() => parseRpmDb(truncated, 'x')).toThrow(/outside the file/);
    // Corrupt package data has its own code (not an OCI layout problem), with a hint.
    expect(() => parseRpmDb(truncated, 'layer 0: var/lib/rpm/rpmdb.sqlite')).toThrow(
      expect.objectContaining({
        code: 'SCAN_DATA',
        where: 'layer 0: var/lib/rpm/rpmdb.sqlite',
        hint: expect.stringMatching(/rpm database/),
      }),
    );
  });
});
