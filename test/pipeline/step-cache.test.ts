/**
 * The step cache of the built-in kinds against real files and a real registry: an unchanged rerun reuses
 * scan, push, sign and attest; what they depend on outside the fingerprint (the registry's tags, the advisory
 * database, the signing key) makes them run again, saying why.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { image } from '../../src/image/step.js';
import { parseReference, parseRegistryReference } from '../../src/oci/reference.js';
import { definePipeline } from '../../src/pipeline/define.js';
import type { RunEvent } from '../../src/pipeline/events.js';
import { explainPlan } from '../../src/pipeline/explain.js';
import { runPipeline } from '../../src/pipeline/scheduler.js';
import { secret } from '../../src/pipeline/secret.js';
import { RegistryClient } from '../../src/registry/client.js';
import { copyImage } from '../../src/registry/copy.js';
import { push } from '../../src/registry/step.js';
import { importOsv } from '../../src/scan/api.js';
import { scan } from '../../src/scan/step.js';
import { generateKeys } from '../../src/trust/keys.js';
import { attest, sign } from '../../src/trust/step.js';
import { makeBaseLayout } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

const PASSWORD = 'cache-pass';

function advisory(id: string, name: string) {
  return JSON.stringify({
    schema_version: '1.6.0',
    id,
    modified: '2024-06-01T00:00:00Z',
    summary: `test advisory ${id}`,
    affected: [
      {
        package: { ecosystem: 'Debian:12', name },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '9.9-1' }] }],
      },
    ],
  });
}

interface Outcome {
  status: Record<string, string>;
  reason: Record<string, string | undefined>;
  /** Each step's log lines. */
  log: Record<string, string[]>;
}

describe('the step cache of scan, push, sign and attest', () => {
  let registry: TestRegistry;
  let dir: string;
  const repository = 'cache/e2e';
  let tag: string;

  const pipeline = (keySecret = false) =>
    definePipeline('cache-e2e', (p) => {
      const built = p.step(
        'image',
        image.build({
          from: 'oci:base:latest',
          layers: [image.content({ '/etc/vfw.conf': 'allow 5000\n' })],
        }),
      );
      const advisories = p.step(
        'advisories',
        async (ctx) => ({
          records: (await importOsv(join(ctx.stateDir, 'osv'), [join(ctx.cwd, 'advisories')])).records,
        }),
        { stage: 'scan', inputs: ['advisories/**'] },
      );
      const scanned = p.step(
        'scan',
        scan({
          image: built.out,
          db: '.vnfpipe/osv',
          failOn: 'none',
          sbom: { format: 'cyclonedx', path: 'reports/sbom.cdx.json' },
        }),
        { needs: [advisories] },
      );
      const pushed = p.step('push', push({ image: built.out, to: `${registry.host}/${repository}:1` }), {
        needs: [scanned],
      });
      const key = keySecret
        ? { key: secret('CACHE_SIGNING_KEY'), password: secret('CACHE_KEY_PASSWORD') }
        : { key: 'cosign.key', password: secret('CACHE_KEY_PASSWORD') };
      p.step('sign', sign({ image: pushed.out, ...key }));
      p.step(
        'attest',
        attest({
          image: pushed.out,
          ...key,
          sbom: scanned.out,
          provenance: { materials: ['advisories/**'] },
        }),
      );
    });

  const run = async (
    options: { keySecret?: boolean; env?: Record<string, string>; noCache?: boolean } = {},
  ): Promise<Outcome> => {
    const outcome: Outcome = { status: {}, reason: {}, log: {} };
    const result = await runPipeline(pipeline(options.keySecret), {
      cwd: dir,
      concurrency: 2,
      ...(options.noCache ? { noCache: true } : {}),
      env: { ...process.env, CACHE_KEY_PASSWORD: PASSWORD, ...options.env },
      onEvent: (event: RunEvent) => {
        if (event.type === 'step.log')
          outcome.log[event.step] = [...(outcome.log[event.step] ?? []), event.line];
        if (event.type === 'step.end') {
          outcome.status[event.step] = event.status;
          outcome.reason[event.step] = event.reason;
        }
      },
    });
    expect(result.status, JSON.stringify(result.steps, null, 2)).toBe('ok');
    return outcome;
  };

  const notReused = (outcome: Outcome, step: string) =>
    (outcome.log[step] ?? []).filter((line) => line.startsWith('not reused')).join('\n');

  beforeAll(async () => {
    registry = await startRegistry();
    tag = `${registry.host}/${repository}:1`;
    dir = mkdtempSync(join(tmpdir(), 'vnfpipe-step-cache-'));
    makeBaseLayout(join(dir, 'base'));
    mkdirSync(join(dir, 'advisories'));
    writeFileSync(join(dir, 'advisories', 'one.json'), advisory('TEST-0001', 'no-such-package'));
    writeFileSync(join(dir, 'cosign.key'), generateKeys(PASSWORD).privateKeyPem);
    writeFileSync(join(dir, 'vnfpipe.config.ts'), '// the pipeline file the provenance names\n');
  });
  afterAll(async () => {
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reuses every step of an unchanged rerun, the registry checked for what it holds', async () => {
    const first = await run();
    for (const step of ['image', 'advisories', 'scan', 'push', 'sign', 'attest'])
      expect(first.status[step], step).toBe('ok');

    const second = await run();
    for (const step of ['image', 'advisories', 'scan', 'push', 'sign', 'attest'])
      expect(second.status[step], step).toBe('cached');
    expect(second.reason.push).toMatch(
      /inputs unchanged since run .*, and the registry still has each pushed tag/,
    );

    // The signature tag holds one signature: the rerun did not sign again.
    const client = new RegistryClient(registry.host);
    try {
      const digest = (await client.headManifest(repository, '1'))!.digest;
      const sig = await client.getManifest(repository, `${digest.replace(':', '-')}.sig`);
      expect((JSON.parse(sig.bytes.toString('utf8')) as { layers: unknown[] }).layers).toHaveLength(1);
    } finally {
      client.close();
    }

    // plan says the same without asking the registry, and says what is asked when the step runs.
    const plan = await explainPlan(pipeline(), { cwd: dir, env: { ...process.env } });
    const verdict = Object.fromEntries(plan.steps.map((s) => [s.id, s.cache]));
    for (const step of ['image', 'scan', 'push', 'sign', 'attest'])
      expect(verdict[step]!.status, step).toBe('cached');
    expect(verdict.push!.reasons.join('; ')).toContain('checked when it runs: the registry still has each');

    // --no-cache runs everything.
    const forced = await run({ noCache: true });
    for (const step of ['image', 'advisories', 'scan', 'push', 'sign', 'attest'])
      expect(forced.status[step], step).toBe('ok');
  });

  it('pushes again when the tag names another image, or is gone, and says so', async () => {
    await run();
    const client = new RegistryClient(registry.host);
    try {
      // Something else pushed to the tag: the busybox base.
      await copyImage(parseReference(`oci:${join(dir, 'base')}:latest`), parseRegistryReference(tag));
      const retagged = await run();
      expect(retagged.status.push).toBe('ok');
      expect(notReused(retagged, 'push')).toMatch(
        new RegExp(`the pushed tag ${tag.replace(/[.]/g, '\\.')} now names sha256:[0-9a-f]{12}`),
      );
      // Pushed again: the same digest as before, so what signs and attests it stays reused.
      expect(retagged.status.sign).toBe('cached');
      expect(retagged.status.attest).toBe('cached');
      expect(await run()).toMatchObject({ status: { push: 'cached' } });

      // The manifest deleted from the registry: the tag is gone.
      const digest = (await client.headManifest(repository, '1'))!.digest;
      expect(await client.deleteManifest(repository, digest)).toBe(true);
      const gone = await run();
      expect(gone.status.push).toBe('ok');
      expect(notReused(gone, 'push')).toContain(`the registry no longer has the pushed tag ${tag}`);
      expect((await client.headManifest(repository, '1'))?.digest).toBe(digest);
    } finally {
      client.close();
    }
  });

  it('signs and attests again when their artifacts leave the registry', async () => {
    const before = await run();
    expect(before.status.sign).toBe('cached');
    const client = new RegistryClient(registry.host);
    try {
      const digest = (await client.headManifest(repository, '1'))!.digest;
      const sigTag = `${digest.replace(':', '-')}.sig`;
      const sig = (await client.headManifest(repository, sigTag))!.digest;
      expect(await client.deleteManifest(repository, sig)).toBe(true);
      const after = await run();
      expect(after.status.sign).toBe('ok');
      expect(notReused(after, 'sign')).toContain(
        `the signature tag ${registry.host}/${repository}:${sigTag}`,
      );
      expect(after.status.attest).toBe('cached');
    } finally {
      client.close();
    }
  });

  it('scans again when the advisory database changes', async () => {
    expect((await run()).status.scan).toBe('cached');
    writeFileSync(join(dir, 'advisories', 'two.json'), advisory('TEST-0002', 'another-package'));
    const changed = await run();
    expect(changed.status.advisories).toBe('ok');
    expect(changed.status.scan).toBe('ok');
    expect(notReused(changed, 'scan')).toContain('input file changed: .vnfpipe/osv/meta.json');
    expect(changed.status.push).toBe('cached');
    expect((await run()).status.scan).toBe('cached');
  });

  it('signs again when the key changes; a key given as a secret is kept only as a hash', async () => {
    expect((await run()).status.sign).toBe('cached');
    writeFileSync(join(dir, 'cosign.key'), generateKeys(PASSWORD).privateKeyPem);
    const rekeyed = await run();
    expect(rekeyed.status.sign).toBe('ok');
    expect(notReused(rekeyed, 'sign')).toContain('input file changed: cosign.key');
    expect(rekeyed.status.attest).toBe('ok');
    expect(rekeyed.status.push).toBe('cached');

    // The same with the key as a secret: its hash is in the fingerprint, never the key.
    const pem = generateKeys(PASSWORD).privateKeyPem;
    const env = { CACHE_SIGNING_KEY: pem };
    expect((await run({ keySecret: true, env })).status.sign).toBe('ok');
    expect((await run({ keySecret: true, env })).status.sign).toBe('cached');
    const plan = await explainPlan(pipeline(true), { cwd: dir, env: { ...process.env, ...env } });
    const signPlan = plan.steps.find((s) => s.id === 'sign')!.cache;
    expect(signPlan.status).toBe('cached');
    expect(signPlan.reasons.join('; ')).toContain('reused only if the signing key is unchanged');
    const other = await run({
      keySecret: true,
      env: { CACHE_SIGNING_KEY: generateKeys(PASSWORD).privateKeyPem },
    });
    expect(other.status.sign).toBe('ok');
    expect(notReused(other, 'sign')).toContain('signing key changed');

    const body = pem.split('\n').slice(1, -2).join('');
    const cacheText = [
      ...listFiles(join(dir, '.vnfpipe', 'cache', 'steps')),
      join(dir, '.vnfpipe', 'cache', 'file-hashes.json'),
    ]
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    expect(cacheText).toContain('"signing key"');
    expect(cacheText).not.toContain(body.slice(0, 40));
    expect(cacheText).not.toContain(PASSWORD);
  });
});

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}
