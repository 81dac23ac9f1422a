/** `vnfpipe scan` and `vnfpipe db …` through their command functions: output, files and exit codes 0/1/2. */

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { dbImportCommand, dbStatusCommand, dbUpdateCommand, scanCommand } from '../../src/cli/scan.ts';
import type { StepContext } from '../../src/pipeline/model.ts';
import { scan } from '../../src/scan/step.ts';
import { FIXTURES, fixtureDb } from './support/fixtures.ts';
import { appImage } from './support/images.ts';
import { gzLayer, makeTar, writeLayout } from './support/oci.ts';
import { errorsOf, validators } from './support/schemas.ts';

function capture() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: (t: string) => (out.stdout += t), stderr: (t: string) => (out.stderr += t) } };
}

let db: string;
let langOnlyDb: string;
let image: string;
const work = mkdtempSync(join(tmpdir(), 'vnfpipe-scan-cli-'));

beforeAll(async () => {
  db = await fixtureDb('debian', 'lang');
  langOnlyDb = await fixtureDb('lang');
  image = appImage();
});

describe('scan exit codes', () => {
  it('0 when nothing reaches the threshold', async () => {
    const { out, io } = capture();
    expect(await scanCommand(image, { db, failOn: 'critical' }, io)).toBe(0);
    expect(out.stdout).toMatch(/Result: PASSED/);
  });

  it('1 when the policy fails, and 0 again once the findings are ignored with reasons', async () => {
    const { out, io } = capture();
    expect(await scanCommand(image, { db, failOn: 'high' }, io)).toBe(1);
    expect(out.stdout).toMatch(/Result: FAILED \(3 finding/);
    const ignore = join(work, 'ignore.yaml');
    writeFileSync(
      ignore,
      [
        'ignore:',
        '  - id: CVE-2023-4911',
        '    reason: no setuid binaries use ld.so tunables here',
        '  - id: DSA-5578-1',
        '    reason: perl is not run',
        '    expires: 2999-01-01',
      ].join('\n'),
    );
    const vex = join(work, 'vex.json');
    writeFileSync(
      vex,
      JSON.stringify({
        '@context': 'https://openvex.dev/ns/v0.2.0',
        statements: [
          {
            vulnerability: { name: 'CVE-2021-23337' },
            products: [{ '@id': 'pkg:npm/lodash' }],
            status: 'not_affected',
            justification: 'vulnerable_code_not_present',
          },
        ],
      }),
    );
    expect(await scanCommand(image, { db, failOn: 'high', ignore: [ignore], vex: [vex] }, capture().io)).toBe(
      0,
    );
  });

  it('2 when the database is missing or lacks the image’s distro (partial scan), never 0', async () => {
    const missing = capture();
    expect(await scanCommand(image, { db: join(work, 'nope'), failOn: 'none' }, missing.io)).toBe(2);
    expect(missing.out.stderr).toMatch(/no vulnerability database here/);
    const partial = capture();
    expect(await scanCommand(image, { db: langOnlyDb, failOn: 'none' }, partial.io)).toBe(2);
    expect(partial.out.stderr).toMatch(
      /scan incomplete: the vulnerability database has no Debian:12 advisories/,
    );
    expect(partial.out.stdout).toMatch(/Result: INCOMPLETE/);
  });

  it('2 for hostile layers, unreadable images and bad options', async () => {
    const dir = mkdtempSync(join(work, 'hostile-'));
    writeLayout(dir, { tag: 'x', layers: [gzLayer(makeTar([{ path: '../escape', data: 'x' }]))] });
    const hostile = capture();
    expect(await scanCommand(`oci:${dir}:x`, { db, failOn: 'none' }, hostile.io)).toBe(2);
    expect(hostile.out.stderr).toMatch(
      /layer 0 sha256:[0-9a-f]{64}: \.\.\/escape: path escapes the image root/,
    );
    expect(await scanCommand(`oci:${join(work, 'absent')}`, { db }, capture().io)).toBe(2);
    expect(await scanCommand(image, { db, format: 'xml' }, capture().io)).toBe(2);
    expect(await scanCommand(image, { db, failOn: 'severe' }, capture().io)).toBe(2);
    const badSize = capture();
    expect(await scanCommand(image, { db, maxBytes: 'lots' }, badSize.io)).toBe(2);
    expect(badSize.out.stderr).toMatch(/--max-bytes: invalid size "lots"/);
  });

  it('2 for an SBOM of an image whose (Berkeley DB) rpm database cannot be read yet', async () => {
    const dir = mkdtempSync(join(work, 'rpm-'));
    writeLayout(dir, {
      tag: 'x',
      layers: [gzLayer(makeTar([{ path: 'var/lib/rpm/Packages', data: 'Berkeley DB' }]))],
    });
    const { out, io } = capture();
    expect(await scanCommand(`oci:${dir}:x`, { format: 'cyclonedx' }, io)).toBe(2);
    expect(out.stderr).toMatch(/rpm Berkeley DB \/ ndb databases are not supported yet/);
  });
});

describe('scan outputs', () => {
  it('writes SARIF to --output and an SPDX SBOM to --sbom', async () => {
    const sarifFile = join(work, 'out', 'scan.sarif');
    const sbomFile = join(work, 'out', 'sbom.spdx.json');
    const { out, io } = capture();
    expect(await scanCommand(image, { db, format: 'sarif', output: sarifFile, sbom: sbomFile }, io)).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr).toMatch(/FAILED \(0 critical, 3 high/);
    const { sarif, spdx } = validators();
    const log = JSON.parse(readFileSync(sarifFile, 'utf8'));
    expect(sarif(log), errorsOf(sarif).join('\n')).toBe(true);
    const doc = JSON.parse(readFileSync(sbomFile, 'utf8'));
    expect(spdx(doc), errorsOf(spdx).join('\n')).toBe(true);
  });

  it('prints a CycloneDX SBOM without needing a database', async () => {
    const { out, io } = capture();
    expect(await scanCommand(image, { format: 'cyclonedx', failOn: 'high' }, io)).toBe(0);
    const bom = JSON.parse(out.stdout);
    const { cyclonedx } = validators();
    expect(cyclonedx(bom), errorsOf(cyclonedx).join('\n')).toBe(true);
    expect(bom.vulnerabilities).toBeUndefined();
  });
});

describe('db commands', () => {
  it('imports, then reports status', async () => {
    const dir = join(work, 'db');
    const imported = capture();
    expect(await dbImportCommand([join(FIXTURES, 'osv', 'debian')], { db: dir }, imported.io)).toBe(0);
    expect(imported.out.stdout).toMatch(/imported 10 record\(s\).*Debian:12: 8.*1 withdrawn skipped/);
    const status = capture();
    expect(await dbStatusCommand({ db: dir, json: true }, status.io)).toBe(0);
    expect(JSON.parse(status.out.stdout)).toMatchObject({ records: 10, ecosystems: { 'Debian:12': 8 } });
    expect(await dbStatusCommand({ db: join(work, 'none') }, capture().io)).toBe(2);
    expect(await dbImportCommand([join(work, 'missing-dir')], { db: dir }, capture().io)).toBe(2);
  });

  it('update fails clearly and fast without network access to the OSV bucket', async () => {
    const { out, io } = capture();
    // A loopback port nobody listens on: like a firewalled network, the connection is refused at once.
    const server = createServer();
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const port = (server.address() as AddressInfo).port;
    await new Promise((ok) => server.close(ok));
    const source = `http://127.0.0.1:${port}`;
    const code = await dbUpdateCommand(
      { db: join(work, 'updated'), ecosystem: ['Debian'], source, timeoutMs: 5000 },
      io,
    );
    expect(code).toBe(1);
    // Refused at once, not given up after the timeout: the reason names the refusal.
    expect(out.stderr).toMatch(/cannot download the Debian OSV export: ECONNREFUSED/);
    expect(out.stderr).toMatch(/vnfpipe db import/);
    expect(existsSync(join(work, 'updated', 'meta.json'))).toBe(false);
  });
});

describe('scan step', () => {
  const ctx = (dir: string): StepContext => ({
    stepId: 'scan',
    runId: 'r1',
    attempt: 1,
    cwd: dir,
    workDir: dir,
    stateDir: join(dir, '.vnfpipe'),
    signal: new AbortController().signal,
    env: {},
    log: () => undefined,
    progress: () => undefined,
    onCleanup: () => undefined,
    output: () => {
      throw new Error('unused');
    },
    addSecret: () => undefined,
  });

  it('returns a ScanReport with the files it wrote, and fails the step on the gate', async () => {
    const step = scan({
      image: { ref: image, digest: 'sha256:x' },
      failOn: 'critical',
      db,
      sbom: { format: 'cyclonedx', path: 'out/sbom.cdx.json' },
    });
    expect(step).toMatchObject({ kind: 'scan', stage: 'scan' });
    step.validate?.(step.options);
    const dir = mkdtempSync(join(work, 'step-'));
    const report = await step.run(ctx(dir), step.options as never);
    expect(report).toMatchObject({
      image,
      passed: true,
      counts: { critical: 0, high: 3 },
      files: [join(dir, 'out', 'sbom.cdx.json')],
    });
    const failing = scan({ image, db });
    await expect(failing.run(ctx(dir), failing.options as never)).rejects.toMatchObject({
      code: 'STEP_FAILED',
      message: expect.stringMatching(/3 finding\(s\) at or above high/),
    });
    expect(() =>
      scan({ image, failOn: 'severe' as never }).validate?.({ image, failOn: 'severe' as never }),
    ).toThrow(/failOn/);
    const small = scan({ image, db, maxBytes: 4096 });
    small.validate?.(small.options);
    await expect(small.run(ctx(dir), small.options as never)).rejects.toMatchObject({
      code: 'LAYER_UNSAFE',
      message: expect.stringMatching(/scan budget of 4096/),
    });
    expect(() => scan({ image, maxBytes: -1 }).validate?.({ image, maxBytes: -1 })).toThrow(/maxBytes/);
  });
});
