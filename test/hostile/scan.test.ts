/**
 * Every case of the hostile corpus against `vnfpipe scan`: the library (typed refusal or the right
 * result) and the real CLI process (exit 0/1/2, never a crash, a hang or a silent pass). The CLI runs from
 * dist/: `npm run build` first.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { VnfpipeError } from '../../src/errors.ts';
import { runScan } from '../../src/scan/run.ts';
import { generateHostileCorpus, type HostileCase } from '../fixtures/hostile/corpus.ts';
import { fixtureDb } from '../scan/support/fixtures.ts';
import { hostileCli, ROOT } from './cli.js';

/** dpkg-query's -f format: `${Field}` is dpkg syntax, not a template string. */
const DPKG_FORMAT = ['Package', 'Version'].map((f) => `$\{${f}}`).join(' ') + '\n';
const work = mkdtempSync(join(tmpdir(), 'vnfpipe-hostile-'));
const cases = await generateHostileCorpus(join(work, 'corpus'));
let db: string;

beforeAll(async () => {
  db = await fixtureDb('debian');
});

const cli = (args: string[]) => hostileCli(args);

describe('hostile corpus: scan', () => {
  it('covers the cases consumers must survive', () => {
    expect(cases.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        'device-nodes',
        'symlink-parent-write',
        'symlink-loop',
        'non-utf8-name-collision',
        'pax-header-flood',
        'decompression-bomb',
        'repeated-layer-digests',
        'fifo-index-json',
        'path-escape',
        'absolute-symlink-escape',
        'blob-extra-bytes',
        'blob-digest-mismatch',
        'manifest-wrong-media-type',
        'manifest-malformed-json',
      ]),
    );
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s (library)', async (_name, c: HostileCase) => {
    const want = c.expect.scan;
    const limits = want.maxTotalBytes ? { maxTotalBytes: want.maxTotalBytes } : undefined;
    if (want.outcome === 'refuse') {
      const error = await runScan({ image: c.ref, db, ...(limits ? { limits } : {}) }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, c.description).toBeInstanceOf(VnfpipeError);
      const e = error as VnfpipeError;
      // A typed refusal (the CLI maps every scan error to exit 2, checked below).
      expect(['LAYER_UNSAFE', 'OCI_INVALID', 'OCI_DIGEST_MISMATCH', 'OCI_NOT_FOUND']).toContain(e.code);
      expect(`${e.message}\n${e.where}`).toMatch(want.message!);
      return;
    }
    const outcome = await runScan({ image: c.ref, db, ...(limits ? { limits } : {}) });
    expect(outcome.result.gaps).toEqual([]);
    const names = outcome.result.packages.map((p) => p.name);
    for (const name of want.packages ?? []) expect(names, c.description).toContain(name);
    const vulnerable = new Set(outcome.result.vulnerabilities.map((v) => v.package.name));
    for (const name of want.vulnerable ?? []) expect([...vulnerable]).toContain(name);
    expect(outcome.exitCode).toBe(want.outcome === 'ok' ? 0 : 1);
  });

  const unpacked = cases.filter((c) => c.runtimePath);
  it.each(unpacked.map((c) => [c.name, c] as const))(
    '%s: the scan sees the packages the runtime unpacks (umoci unpack)',
    async (_name, c: HostileCase) => {
      const bundle = join(work, `bundle-${c.name}`);
      execFileSync('umoci', ['unpack', '--image', `${c.layout}:hostile`, bundle], { stdio: 'pipe' });
      const rootfs = join(bundle, 'rootfs');
      expect(lstatSync(join(rootfs, c.runtimePath!)).isFile()).toBe(true);
      const listed = execFileSync(
        'dpkg-query',
        ['-W', `--admindir=${join(rootfs, 'var', 'lib', 'dpkg')}`, '-f', DPKG_FORMAT],
        { encoding: 'utf8' },
      )
        .trim()
        .split('\n')
        .sort();
      const outcome = await runScan({ image: c.ref, skipVulnerabilities: true });
      const scanned = outcome.result.packages
        .filter((p) => p.type === 'deb')
        .map((p) => `${p.name} ${p.version}`)
        .sort();
      expect(scanned).toEqual(listed);
    },
  );

  it.each(cases.map((c) => [c.name, c] as const))('%s (CLI process)', async (_name, c: HostileCase) => {
    expect(existsSync(join(ROOT, 'dist', 'cli', 'scan.js')), 'run `npm run build` first').toBe(true);
    const want = c.expect.scan;
    const args = ['scan', c.ref, '--db', db, '--format', 'json'];
    if (want.maxTotalBytes) args.push('--max-bytes', String(want.maxTotalBytes));
    const run = await cli(args);
    expect(run.signal, run.stderr).toBeNull();
    expect(run.code, run.stderr).toBe({ refuse: 2, ok: 0, findings: 1 }[want.outcome]);
    expect(run.stderr).not.toMatch(/unexpected error|heap out of memory|at .*\.js:\d+/);
    if (want.outcome === 'refuse') expect(run.stderr).toMatch(/^vnfpipe: error: /m);
  });
});
