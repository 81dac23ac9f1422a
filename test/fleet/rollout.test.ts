/**
 * A three-wave rollout over three real Docker engines (extra dockerd instances): a site override makes the
 * VNF fail verify in wave 2. Later waves never start, the failing wave (and with rollback-all every earlier
 * one) is rolled back, and each engine is asked what it runs; the journal and `vnfpipe status` must agree.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleet } from '../../src/fleet/expand.js';
import type { WaveFailurePolicy } from '../../src/fleet/model.js';
import { definePipeline } from '../../src/pipeline/define.js';
import { readRun } from '../../src/pipeline/journal.js';
import { runPipeline } from '../../src/pipeline/scheduler.js';
import { probe } from '../../src/verify/probes.js';
import { requireDocker } from '../support/docker.js';
import { busyboxLayout } from '../support/engine-images.js';
import { type ExtraEngine, startExtraEngine } from '../support/extra-engine.js';
import { runCli } from '../support/project.js';

const SITES = ['lab', 'edge1', 'edge2'] as const;
type SiteName = (typeof SITES)[number];

const name = `fleet-${process.pid.toString(36)}`;
const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-fleet-'));
const engines = {} as Record<SiteName, ExtraEngine>;

/** The busybox layout's image, deployed straight from the layout (the docker target loads it). */
function baseImage() {
  const layout = busyboxLayout();
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
  };
  const latest = index.manifests.find(
    (m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'latest',
  );
  if (!latest) throw new Error(`no 'latest' image in ${layout}`);
  return { ref: `oci:${layout}:latest`, digest: latest.digest, layout };
}

/**
 * Version `version` of the VNF everywhere; `faultyAt` gets an override that makes its verify fail, or with
 * `fault: 'crash'` one that makes the workload exit at start, so its deploy fails.
 */
function rollout(
  version: number,
  policy: WaveFailurePolicy,
  faultyAt?: SiteName,
  waves: SiteName[][] = [['lab'], ['edge1'], ['edge2']],
  fault: 'verify' | 'crash' = 'verify',
) {
  const faulty =
    fault === 'crash'
      ? { command: ['sh', '-c', 'echo crashed on purpose; exit 3'] }
      : { env: { HEALTHY: 'no' } };
  return definePipeline('fleet-rollout', (p) => {
    p.add(
      fleet({
        sites: Object.fromEntries(
          SITES.map((site) => [
            site,
            {
              engine: engines[site].host,
              ...(site === faultyAt ? { overrides: faulty } : {}),
            },
          ]),
        ),
        waves,
        workload: {
          name,
          image: baseImage(),
          command: ['sleep', '3600'],
          env: { VERSION: String(version), HEALTHY: 'yes' },
          stopGracePeriod: 1,
        },
        probes: [
          probe.exec({
            label: 'healthy',
            command: ['sh', '-c', 'test "$HEALTHY" = yes'],
            attempts: 2,
            interval: '200ms',
          }),
        ],
        onWaveFailure: policy,
      }),
    );
  });
}

/** The revisions of the workload whose containers run on a site's engine, as the engine lists them. */
function runningRevisions(site: SiteName): number[] {
  const names = engines[site].docker(['ps', '--filter', `name=^${name}-r`, '--format', '{{.Names}}']);
  return names
    .split('\n')
    .filter(Boolean)
    .map((n) => Number(n.slice(`${name}-r`.length)))
    .sort((a, b) => a - b);
}

/** Every container of the workload on the engine, running or not. */
function allRevisions(site: SiteName): number[] {
  const names = engines[site].docker(['ps', '-a', '--filter', `name=^${name}-r`, '--format', '{{.Names}}']);
  return names
    .split('\n')
    .filter(Boolean)
    .map((n) => Number(n.slice(`${name}-r`.length)))
    .sort((a, b) => a - b);
}

function envOf(site: SiteName, revision: number): string[] {
  return JSON.parse(
    engines[site].docker(['inspect', '--format', '{{json .Config.Env}}', `${name}-r${revision}`]),
  );
}

interface StatusJson {
  verified: boolean;
  sites: Array<{ site: string; revision?: number; verified: boolean; status?: string; engine?: string }>;
}

async function status(): Promise<{ code: number | null; json: StatusJson }> {
  const result = await runCli(dir, ['status', name, '--json']);
  expect(result.stderr).toBe('');
  return { code: result.code, json: JSON.parse(result.stdout) as StatusJson };
}

const bySite = (json: StatusJson) => Object.fromEntries(json.sites.map((s) => [s.site, s]));

beforeAll(async () => {
  requireDocker();
  const started = await Promise.allSettled(SITES.map(() => startExtraEngine()));
  for (const [i, site] of SITES.entries()) {
    const result = started[i]!;
    if (result.status === 'fulfilled') engines[site] = result.value;
  }
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}, 180_000);

afterAll(async () => {
  for (const engine of Object.values(engines)) {
    try {
      const ids = engine.docker(['ps', '-aq']).split('\n').filter(Boolean);
      if (ids.length) engine.docker(['rm', '-f', ...ids]);
    } catch {
      // The engine is stopped below either way.
    }
    await engine.stop();
  }
}, 180_000);

describe('fleet rollout over three engines', () => {
  it('a clean rollout verifies every site, wave by wave', async () => {
    const result = await runPipeline(rollout(1, 'rollback-wave'), { cwd: dir });
    expect(result.exitCode).toBe(0);
    for (const site of SITES) {
      expect(result.steps[`verify-${site}`]?.status).toBe('ok');
      expect(result.steps[`rollback-${site}`]?.status).toBe('skipped');
      expect(runningRevisions(site)).toEqual([1]);
    }
    const { code, json } = await status();
    expect(code).toBe(0);
    expect(json.verified).toBe(true);
    expect(bySite(json).edge1).toMatchObject({ revision: 1, verified: true, engine: engines.edge1.host });
  }, 240_000);

  it('rollback-wave: wave 2 fails verify, is rolled back and re-verified; wave 3 never starts', async () => {
    const result = await runPipeline(rollout(2, 'rollback-wave', 'edge1'), { cwd: dir });
    expect(result.exitCode).toBe(1);
    expect(result.steps['verify-lab']?.status).toBe('ok');
    expect(result.steps['verify-edge1']?.status).toBe('failed');
    expect(result.steps['rollback-edge1']?.status).toBe('ok');
    expect(result.steps['rollback-lab']?.status).toBe('skipped');
    expect(result.steps['deploy-edge2']?.status).toBe('skipped');
    expect(result.steps['verify-edge2']?.status).toBe('skipped');

    // What the engines run: lab the new verified revision, edge1 back on 1, edge2 never touched.
    expect(runningRevisions('lab')).toEqual([2]);
    expect(envOf('lab', 2)).toContain('VERSION=2');
    expect(runningRevisions('edge1')).toEqual([1]);
    expect(allRevisions('edge1')).toEqual([1]);
    expect(allRevisions('edge2')).toEqual([1]);
    expect(envOf('edge2', 1)).toContain('VERSION=1');

    const journal = await readRun(join(dir, '.vnfpipe'), result.runId);
    expect(journal.status).toBe('failed');
    expect(journal.steps['rollback-edge1']?.output).toMatchObject({ site: 'edge1', revision: 1, from: 2 });
    expect((journal.steps['rollback-edge1']?.output as { summary?: string } | undefined)?.summary).toMatch(
      /^edge1: rolled back .* from revision 2 to 1, verified/,
    );
    expect(journal.steps['deploy-edge2']?.reason).toMatch(/verify-edge1/);

    const { code, json } = await status();
    expect(code).toBe(0);
    expect(bySite(json)).toMatchObject({
      lab: { revision: 2, verified: true },
      edge1: { revision: 1, verified: true },
      edge2: { revision: 1, verified: true },
    });
  }, 240_000);

  it('rollback-all: the earlier wave is rolled back too, every site ends on a verified revision', async () => {
    const result = await runPipeline(rollout(3, 'rollback-all', 'edge1'), { cwd: dir });
    expect(result.exitCode).toBe(1);
    expect(result.steps['rollback-edge1']?.status).toBe('ok');
    expect(result.steps['rollback-lab']?.status).toBe('ok');
    expect(result.steps['deploy-edge2']?.status).toBe('skipped');
    expect(result.outputs['rollback-lab']).toMatchObject({ site: 'lab', revision: 2, from: 3, kept: false });

    expect(runningRevisions('lab')).toEqual([2]);
    expect(allRevisions('lab')).not.toContain(3);
    expect(runningRevisions('edge1')).toEqual([1]);
    expect(allRevisions('edge2')).toEqual([1]);

    const { code, json } = await status();
    expect(code).toBe(0);
    expect(json.sites.every((s) => s.verified)).toBe(true);
    expect(bySite(json)).toMatchObject({
      lab: { revision: 2 },
      edge1: { revision: 1 },
      edge2: { revision: 1 },
    });
  }, 240_000);

  it('halt: nothing is rolled back, the report and `vnfpipe status` name the unverified site', async () => {
    const result = await runPipeline(rollout(4, 'halt', 'edge1'), { cwd: dir });
    expect(result.exitCode).toBe(1);
    expect(result.steps['halt-wave-2']?.status).toBe('ok');
    expect(result.steps['deploy-edge2']?.status).toBe('skipped');
    const halted = result.outputs['halt-wave-2'] as {
      unverified: Array<{ site: string; revision: number }>;
      summary: string;
    };
    expect(halted.unverified).toHaveLength(1);
    expect(halted.unverified[0]?.site).toBe('edge1');
    expect(halted.summary).toMatch(/edge1 runs .* revision \d+, not verified/);

    const edge1 = halted.unverified[0]!.revision;
    expect(runningRevisions('edge1')).toContain(edge1);
    expect(envOf('edge1', edge1)).toContain('HEALTHY=no');

    const { code, json } = await status();
    expect(code).toBe(1);
    expect(bySite(json)).toMatchObject({
      edge1: { revision: edge1, verified: false, status: 'deployed' },
      edge2: { revision: 1, verified: true },
    });
    expect(bySite(json).lab?.verified).toBe(true);

    const history = await runCli(dir, ['history', name, '--site', 'edge1', '--json']);
    expect(history.code).toBe(0);
    const revisions = (
      JSON.parse(history.stdout) as { site: string; revisions: Array<{ revision: number; status: string }> }
    ).revisions;
    expect(revisions.map((r) => r.status)).toEqual(['verified', 'rolled-back', 'rolled-back', 'deployed']);
    const text = await runCli(dir, ['status', name]);
    expect(text.stdout).toContain('not on a verified revision: edge1');
    const unknown = await runCli(dir, ['history', name, '--site', 'edge9']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("site 'edge9'");
    expect(unknown.stderr).toContain('edge1, edge2, lab');
  }, 240_000);

  it('rollback-wave rolls back every site of the failing wave, those whose verify passed too', async () => {
    const before = runningRevisions('lab');
    const result = await runPipeline(rollout(5, 'rollback-wave', 'edge1', [['lab', 'edge1'], ['edge2']]), {
      cwd: dir,
    });
    expect(result.exitCode).toBe(1);
    expect(result.steps['verify-lab']?.status).toBe('ok');
    expect(result.steps['verify-edge1']?.status).toBe('failed');
    expect(result.steps['rollback-lab']?.status).toBe('ok');
    expect(result.steps['rollback-edge1']?.status).toBe('ok');
    expect(result.steps['deploy-edge2']?.status).toBe('skipped');
    const lab = result.outputs['deploy-lab'] as { revision: number };
    expect(result.outputs['rollback-lab']).toMatchObject({ from: lab.revision, revision: before.at(-1) });
    expect(runningRevisions('lab')).toEqual([before.at(-1)]);
    expect(runningRevisions('edge1')).toEqual([1]);
    expect(allRevisions('edge2')).toEqual([1]);
    const { code, json } = await status();
    expect(code).toBe(0);
    expect(json.verified).toBe(true);
  }, 240_000);

  it('a failed deploy fails its wave: the site that took the new revision is rolled back, later waves never start', async () => {
    const labBefore = runningRevisions('lab');
    const edge1Before = runningRevisions('edge1');
    const result = await runPipeline(
      rollout(6, 'rollback-wave', 'edge1', [['lab', 'edge1'], ['edge2']], 'crash'),
      { cwd: dir },
    );
    expect(result.exitCode).toBe(1);
    expect(result.steps['deploy-edge1']?.status).toBe('failed');
    expect(result.steps['verify-edge1']?.status).toBe('skipped');
    expect(result.steps['verify-lab']?.status).toBe('ok');
    expect(result.steps['rollback-lab']?.status).toBe('ok');
    // edge1's own deploy put its previous revision back; there is nothing for its rollback to do.
    expect(result.steps['rollback-edge1']?.status).toBe('skipped');
    expect(result.steps['deploy-edge2']?.status).toBe('skipped');
    const lab = result.outputs['deploy-lab'] as { revision: number };
    expect(result.outputs['rollback-lab']).toMatchObject({ from: lab.revision, revision: labBefore.at(-1) });
    expect(runningRevisions('lab')).toEqual(labBefore);
    expect(runningRevisions('edge1')).toEqual(edge1Before);
    expect(allRevisions('edge2')).toEqual([1]);
    const { code, json } = await status();
    expect(code).toBe(0);
    expect(json.verified).toBe(true);
  }, 240_000);
});
