/** SBOM and report formats validate against their official schemas; policy: threshold, ignore rules, VEX. */
import { beforeAll, describe, expect, it } from 'vitest';
import { applyPolicy, parseIgnoreRules, parseOpenVex } from '../../src/scan/policy.ts';
import { toCycloneDx } from '../../src/scan/report/cyclonedx.ts';
import { toSarif } from '../../src/scan/report/sarif.ts';
import { toSpdx } from '../../src/scan/report/spdx.ts';
import { toTable } from '../../src/scan/report/table.ts';
import { type ScanResult, scanImage } from '../../src/scan/scanner.ts';
import { fixtureDb } from './support/fixtures.ts';
import { appImage } from './support/images.ts';
import { errorsOf, validators } from './support/schemas.ts';

let result: ScanResult;
const fresh = () => structuredClone(result);

beforeAll(async () => {
  result = await scanImage(appImage(), { db: await fixtureDb('debian', 'lang') });
});

describe('scan of the app image', () => {
  it('finds distro and language vulnerabilities, each on the layer that added the package', () => {
    expect(result.gaps).toEqual([]);
    const rows = result.vulnerabilities
      .map((v) => `${v.id} ${v.package.name} ${v.fixedVersion ?? '-'} ${v.severity} L${v.layer}`)
      .sort();
    expect(rows).toEqual(
      [
        'DEBIAN-CVE-2022-0563 bsdutils - low L0',
        'DEBIAN-CVE-2022-0563 util-linux - low L0',
        'DEBIAN-CVE-2024-28085 bsdutils 2.38.1-5+deb12u1 low L0',
        'DEBIAN-CVE-2024-28085 util-linux 2.38.1-5+deb12u1 low L0',
        'DEBIAN-CVE-2010-4756 libc6 - low L0',
        'DSA-5514-1 libc6 2.36-9+deb12u3 high L0',
        'DSA-5673-1 libc6 2.36-9+deb12u7 unknown L0',
        'DSA-5578-1 perl-base 5.36.0-7+deb12u1 high L0',
        // tar was upgraded to the fixed version in layer 1: no DEBIAN-CVE-2023-39804.
        'GHSA-35jh-r3h4-6jhm lodash 4.17.21 high L1',
        'GHSA-j8r2-6x86-q33q requests 2.31.0 medium L1',
        // The Go record states no severity.
        'GO-2023-2102 golang.org/x/net 0.17.0 unknown L1',
        'GO-2023-2102 stdlib 1.21.3 unknown L1',
      ].sort(),
    );
  });
});

describe('formats validate against the official schemas', () => {
  it('CycloneDX 1.6', () => {
    const { cyclonedx } = validators();
    const bom = toCycloneDx(result, { vulnerabilities: true });
    expect(cyclonedx(bom), errorsOf(cyclonedx).join('\n')).toBe(true);
    expect((bom.components as unknown[]).length).toBe(result.packages.length + 1);
  });

  it('SPDX 2.3', () => {
    const { spdx } = validators();
    const doc = toSpdx(result);
    expect(spdx(doc), errorsOf(spdx).join('\n')).toBe(true);
    const purls = (doc.packages as Array<{ externalRefs?: Array<{ referenceLocator: string }> }>).flatMap(
      (p) => p.externalRefs?.map((r) => r.referenceLocator) ?? [],
    );
    expect(purls.sort()).toEqual(result.packages.map((p) => p.purl).sort());
  });

  it('SARIF 2.1.0, with suppressions for ignored findings', () => {
    const { sarif } = validators();
    const r = fresh();
    const policy = applyPolicy(r.vulnerabilities, r.checks, {
      failOn: 'high',
      ignore: [{ id: 'CVE-2023-4911', reason: 'ld.so is not setuid in this image' }],
    });
    const log = toSarif(r, policy);
    expect(sarif(log), errorsOf(sarif).join('\n')).toBe(true);
    const results = (log.runs as Array<{ results: Array<{ ruleId: string; suppressions?: unknown[] }> }>)[0]!
      .results;
    expect(results.find((x) => x.ruleId === 'DSA-5514-1')?.suppressions).toHaveLength(1);
  });
});

describe('policy', () => {
  it('fails on the threshold and passes below it', () => {
    expect(applyPolicy(fresh().vulnerabilities, [], { failOn: 'critical' }).passed).toBe(true);
    const high = applyPolicy(fresh().vulnerabilities, [], { failOn: 'high' });
    expect(high).toMatchObject({ passed: false, failing: 3 });
    expect(high.counts).toEqual({ critical: 0, high: 3, medium: 1, low: 5, unknown: 3 });
    expect(applyPolicy(fresh().vulnerabilities, [], { failOn: 'none' }).passed).toBe(true);
  });

  it('applies ignore rules with reasons, by alias, package and purl; expired rules stop applying', () => {
    const now = new Date('2026-06-01T00:00:00Z');
    const rules = parseIgnoreRules(
      {
        ignore: [
          { id: 'CVE-2023-4911', reason: 'not reachable', expires: '2026-12-31' },
          { id: 'DSA-5578-1', package: 'perl', reason: 'source package name' },
          {
            id: 'GHSA-35jh-r3h4-6jhm',
            package: 'pkg:npm/lodash',
            reason: 'template() unused',
            expires: '2026-01-01',
          },
        ],
      },
      'ignore.yaml',
    );
    const findings = fresh().vulnerabilities;
    const policy = applyPolicy(findings, [], { failOn: 'high', ignore: rules, now });
    expect(policy.failing).toBe(1); // lodash: its rule expired
    expect(policy.warnings).toEqual([
      'ignore rule for GHSA-35jh-r3h4-6jhm expired on 2026-01-01; it no longer applies',
    ]);
    expect(findings.find((f) => f.id === 'DSA-5514-1')?.suppressed).toEqual({
      by: 'ignore',
      reason: 'not reachable',
    });
    expect(() => parseIgnoreRules([{ id: 'X' }], 'f')).toThrow(/no reason/);
    expect(() => parseIgnoreRules([{ id: 'X', reason: 'r', expires: 'soon' }], 'f')).toThrow(/YYYY-MM-DD/);
  });

  it('applies OpenVEX not_affected/fixed statements to the products they name', () => {
    const vex = parseOpenVex(
      {
        '@context': 'https://openvex.dev/ns/v0.2.0',
        statements: [
          {
            vulnerability: { name: 'CVE-2021-23337' },
            products: [{ '@id': 'pkg:npm/lodash@4.17.20' }],
            status: 'not_affected',
            justification: 'vulnerable_code_not_in_execute_path',
          },
          {
            vulnerability: { name: 'DSA-5514-1' },
            products: [{ '@id': 'pkg:deb/debian/libc6' }],
            status: 'affected',
          },
          {
            vulnerability: { name: 'DSA-5578-1' },
            products: [{ '@id': 'pkg:deb/debian/libc6' }],
            status: 'fixed',
          },
        ],
      },
      'vex.json',
    );
    const findings = fresh().vulnerabilities;
    const policy = applyPolicy(findings, [], { failOn: 'high', vex });
    expect(findings.filter((f) => f.suppressed).map((f) => f.id)).toEqual(['GHSA-35jh-r3h4-6jhm']);
    expect(policy.failing).toBe(2);
    expect(() => parseOpenVex({ statements: [{ vulnerability: 'X', status: 'not_affected' }] }, 'v')).toThrow(
      /justification/,
    );
  });

  it('renders a table with fixed and unfixed findings apart', () => {
    const r = fresh();
    const text = toTable(r, applyPolicy(r.vulnerabilities, r.checks, { failOn: 'high' }));
    expect(text).toMatch(/Vulnerabilities with a fix \(9\)/);
    expect(text).toMatch(/Vulnerabilities without a fix yet \(3\)/);
    expect(text).toMatch(/DSA-5514-1\s+libc6\s+2\.36-9\s+2\.36-9\+deb12u3\s+glibc@2\.36-9/);
    expect(text).toMatch(/Result: FAILED/);
  });
});
