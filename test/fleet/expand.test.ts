/** fleet(): what a rollout expands into — plain steps, stages per wave, needs and onFailure — and what it refuses. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VnfpipeError } from '../../src/errors.js';
import { fleet } from '../../src/fleet/expand.js';
import type { FleetOptions } from '../../src/fleet/model.js';
import { pause } from '../../src/fleet/steps.js';
import { fleet as fromMainEntry } from '../../src/index.js';
import { definePipeline } from '../../src/pipeline/define.js';
import { explainPlan } from '../../src/pipeline/explain.js';
import type { StepContext } from '../../src/pipeline/model.js';
import { planPipeline } from '../../src/pipeline/plan.js';
import { runPipeline } from '../../src/pipeline/scheduler.js';
import { probe } from '../../src/verify/probes.js';

const base = (extra: Partial<FleetOptions> = {}): FleetOptions => ({
  sites: {
    lab: { engine: 'unix:///run/lab.sock' },
    edge1: {
      context: 'edge1-ctx',
      overrides: {
        env: { SITE: 'edge1' },
        replicas: 2,
        networks: [{ role: 'data', parent: 'eth9', ip: '10.9.0.5' }],
      },
    },
    edge2: { engine: 'unix:///run/edge2.sock', target: 'swarm' },
    edge3: { engine: 'unix:///run/edge3.sock' },
  },
  waves: [['lab'], ['edge1'], ['edge2', 'edge3']],
  workload: {
    name: 'vfw',
    image: 'localhost:5000/vnf/vfw@sha256:0000000000000000000000000000000000000000000000000000000000000000',
    env: { MODE: 'filter', SITE: 'default' },
    networks: [
      { role: 'mgmt', driver: 'bridge', subnet: '10.8.0.0/24' },
      { role: 'data', driver: 'macvlan', parent: 'eth1', subnet: '10.9.0.0/24' },
    ],
  },
  probes: [probe.tcp({ port: 80 })],
  ...extra,
});

const planOf = (options: FleetOptions) =>
  planPipeline(
    definePipeline('rollout', (p) => {
      p.add(fleet(options));
    }),
  );

const stepOf = (plan: ReturnType<typeof planOf>, id: string) => {
  const step = plan.steps.find((s) => s.id === id);
  if (!step) throw new Error(`no step ${id} in ${plan.steps.map((s) => s.id).join(', ')}`);
  return step;
};

function invalid(options: FleetOptions): VnfpipeError {
  try {
    planOf(options);
  } catch (error) {
    expect(error).toBeInstanceOf(VnfpipeError);
    return error as VnfpipeError;
  }
  throw new Error('expected the fleet to be refused');
}

describe('fleet() expansion', () => {
  it('is exported from the main entry next to definePipeline', () => {
    expect(fromMainEntry).toBe(fleet);
  });

  it('makes a deploy and a verify per site, one stage per wave, each wave needing the previous verifies', () => {
    const plan = planOf(base());
    expect(plan.stages).toEqual([
      'wave-1',
      'rollback-wave-1',
      'wave-2',
      'rollback-wave-2',
      'wave-3',
      'rollback-wave-3',
    ]);
    const ids = plan.steps.map((s) => s.id);
    for (const site of ['lab', 'edge1', 'edge2', 'edge3']) {
      expect(ids).toContain(`deploy-${site}`);
      expect(ids).toContain(`verify-${site}`);
      expect(ids).toContain(`rollback-${site}`);
    }
    expect(stepOf(plan, 'deploy-lab')).toMatchObject({ kind: 'deploy', stage: 'wave-1', needs: [] });
    expect(stepOf(plan, 'verify-lab')).toMatchObject({
      kind: 'verify',
      stage: 'wave-1',
      needs: ['deploy-lab'],
    });
    expect(stepOf(plan, 'deploy-edge1')).toMatchObject({ stage: 'wave-2', needs: ['verify-lab'] });
    expect(stepOf(plan, 'deploy-edge2').needs).toEqual(['verify-edge1']);
    expect(stepOf(plan, 'deploy-edge3').needs).toEqual(['verify-edge1']);
    expect(stepOf(plan, 'rollback-edge1')).toMatchObject({
      kind: 'rollback',
      stage: 'rollback-wave-2',
      handler: true,
      needs: ['deploy-edge1', 'verify-edge1'],
    });
  });

  it("rolls back the failing wave's sites by default, every wave up to it with rollback-all", () => {
    const wave = planOf(base());
    expect(stepOf(wave, 'verify-edge2').onFailure).toEqual(['rollback-edge2', 'rollback-edge3']);
    expect(stepOf(wave, 'verify-edge1').onFailure).toEqual(['rollback-edge1']);
    // A failed deploy fails its wave too.
    expect(stepOf(wave, 'deploy-edge3').onFailure).toEqual(['rollback-edge2', 'rollback-edge3']);
    const all = planOf(base({ onWaveFailure: 'rollback-all' }));
    expect(stepOf(all, 'deploy-edge1').onFailure).toEqual(['rollback-lab', 'rollback-edge1']);
    expect(stepOf(all, 'verify-edge1').onFailure).toEqual(['rollback-lab', 'rollback-edge1']);
    expect(stepOf(all, 'verify-edge3').onFailure).toEqual([
      'rollback-lab',
      'rollback-edge1',
      'rollback-edge2',
      'rollback-edge3',
    ]);
  });

  it('halt rolls back nothing: a report step per wave runs when one of its verifies fails', () => {
    const plan = planOf(base({ onWaveFailure: 'halt' }));
    expect(plan.steps.some((s) => s.kind === 'rollback')).toBe(false);
    expect(stepOf(plan, 'verify-edge3').onFailure).toEqual(['halt-wave-3']);
    expect(stepOf(plan, 'deploy-edge3').onFailure).toEqual([]);
    expect(stepOf(plan, 'halt-wave-3')).toMatchObject({
      kind: 'halt',
      stage: 'halt-wave-3',
      handler: true,
    });
    expect([...stepOf(plan, 'halt-wave-3').needs].sort()).toEqual([
      'deploy-edge2',
      'deploy-edge3',
      'verify-edge2',
      'verify-edge3',
    ]);
  });

  it('maxParallel chains deploys of a wave in lanes; pauseBetween adds a pause step before each later wave', () => {
    const plan = planOf({
      ...base({ maxParallel: 1, pauseBetween: '30s' }),
      waves: [['lab'], ['edge1', 'edge2', 'edge3']],
    });
    expect(stepOf(plan, 'pause-wave-2')).toMatchObject({
      kind: 'pause',
      stage: 'wave-2',
      needs: ['verify-lab'],
    });
    expect(stepOf(plan, 'deploy-edge1').needs).toEqual(['pause-wave-2']);
    expect(stepOf(plan, 'deploy-edge2').needs).toEqual(['pause-wave-2', 'deploy-edge1']);
    expect(stepOf(plan, 'deploy-edge3').needs).toEqual(['pause-wave-2', 'deploy-edge2']);
    const two = planOf({ ...base({ maxParallel: 2 }), waves: [['edge1', 'edge2', 'edge3'], ['lab']] });
    expect(stepOf(two, 'deploy-edge2').needs).toEqual([]);
    expect(stepOf(two, 'deploy-edge3').needs).toEqual(['deploy-edge1']);
  });

  it("merges a site's overrides onto the workload and passes its engine, context and target to its deploy", () => {
    const plan = planOf(base());
    const options = (id: string) =>
      stepOf(plan, id).definition.spec.options as {
        workload: {
          env: Record<string, string>;
          replicas?: number;
          networks: Array<{ role: string; parent?: string; ip?: string }>;
        };
        engine?: string;
        context?: string;
      };
    const edge1 = options('deploy-edge1');
    expect(edge1.engine).toBeUndefined();
    expect(edge1.context).toBe('edge1-ctx');
    expect(options('deploy-lab').engine).toBe('unix:///run/lab.sock');
    expect(edge1.workload.env).toEqual({ MODE: 'filter', SITE: 'edge1' });
    expect(edge1.workload.replicas).toBe(2);
    expect(edge1.workload.networks[1]).toMatchObject({
      role: 'data',
      parent: 'eth9',
      ip: '10.9.0.5',
      subnet: '10.9.0.0/24',
    });
    expect(edge1.workload.networks[0]).toMatchObject({ role: 'mgmt', driver: 'bridge' });
    const lab = options('deploy-lab');
    expect(lab.workload.env).toEqual({ MODE: 'filter', SITE: 'default' });
    expect(lab.workload.networks[1]?.parent).toBe('eth1');
    expect(lab.context).toBeUndefined();
    expect((stepOf(plan, 'deploy-edge2').definition.spec as { deployTarget?: string }).deployTarget).toBe(
      'swarm',
    );
  });

  it('shows up in plan like any other steps (what `vnfpipe plan --json` prints)', async () => {
    const explained = await explainPlan(
      definePipeline('rollout', (p) => {
        p.add(fleet(base()));
      }),
      { cwd: mkdtempSync(join(tmpdir(), 'vnfpipe-fleet-plan-')) },
    );
    const byId = Object.fromEntries(explained.steps.map((s) => [s.id, s]));
    expect(byId['verify-edge1']).toMatchObject({
      stage: 'wave-2',
      needs: ['deploy-edge1'],
      onFailure: ['rollback-edge1'],
    });
    expect(byId['rollback-edge1']?.cache.status).toBe('on-failure');
  });

  it('refuses an unknown site in a wave, a site in two waves and an empty wave, naming each', () => {
    const unknown = invalid(base({ waves: [['lab'], ['edge1', 'edge9'], ['edge2', 'edge3']] }));
    expect(unknown.code).toBe('PIPELINE_INVALID');
    expect(unknown.message).toContain("wave 2 names site 'edge9', which is not in 'sites'");
    const twice = invalid(base({ waves: [['lab', 'edge1'], ['edge1'], ['edge2', 'edge3']] }));
    expect(twice.message).toContain("site 'edge1' is in wave 1 and in wave 2");
    const empty = invalid(base({ waves: [['lab'], [], ['edge1', 'edge2', 'edge3']] }));
    expect(empty.message).toContain('wave 2 is empty');
    expect(invalid(base({ waves: [] })).message).toContain("'waves' must list at least one wave");
    const left = invalid(base({ waves: [['lab'], ['edge1'], ['edge2']] }));
    expect(left.message).toContain("site 'edge3' is in no wave");
    expect(left.exitCode).toBe(2);
  });

  it('refuses bad settings and overrides, naming the site', () => {
    expect(invalid(base({ maxParallel: 0 })).message).toContain('maxParallel must be a whole number ≥ 1');
    expect(invalid(base({ pauseBetween: 'soon' as never })).message).toContain("pauseBetween: 'soon'");
    expect(invalid(base({ onWaveFailure: 'panic' as never })).message).toContain("onWaveFailure 'panic'");
    const engine = base();
    engine.sites.lab = { engine: '/run/lab.sock' };
    expect(invalid(engine).message).toContain(
      "site 'lab': 'engine': engine address '/run/lab.sock' is not a Docker engine address",
    );
    const both = base();
    both.sites.lab = { engine: 'unix:///run/lab.sock', context: 'lab' };
    expect(invalid(both).message).toContain("site 'lab': give either 'engine' or 'context', not both");
    const role = base();
    role.sites.edge3 = { overrides: { networks: [{ role: 'backhaul', ip: '10.1.1.1' }] } };
    expect(invalid(role).message).toMatch(/site 'edge3'.*network role 'backhaul'/);
  });
});

describe('fleet step kinds', () => {
  it('a pause reports its seconds as progress and ends when the run is cancelled', async () => {
    const spec = pause(60_000, 2, 'wave-2');
    const controller = new AbortController();
    const progress: number[] = [];
    const ctx = {
      signal: controller.signal,
      log: () => {},
      progress: (update: { current: number }) => {
        progress.push(update.current);
        controller.abort();
      },
    } as unknown as StepContext;
    await expect(spec.run(ctx, { ms: 60_000, wave: 2 })).rejects.toMatchObject({ name: 'AbortError' });
    expect(progress).toEqual([0]);
  });
});

describe('onFailure handlers of several steps (what a wave rollback is)', () => {
  it('runs once, after every step it handles, when one of them fails and another passes', async () => {
    const order: string[] = [];
    let releaseSlow: () => void = () => {};
    const slowDone = new Promise<void>((resolve) => {
      releaseSlow = resolve;
    });
    const pipeline = definePipeline('handlers', (p) => {
      const fast = p.step(
        'verify-fast',
        async () => {
          order.push('verify-fast failed');
          releaseSlow();
          throw new VnfpipeError('STEP_FAILED', 'probe failed');
        },
        { onFailure: ['rollback-a'] },
      );
      const slow = p.step(
        'verify-slow',
        async () => {
          await slowDone;
          order.push('verify-slow passed');
          return {};
        },
        { onFailure: ['rollback-a'] },
      );
      p.step('rollback-a', async () => order.push('rollback'), { stage: 'rollback', needs: [fast, slow] });
    });
    const result = await runPipeline(pipeline, { cwd: mkdtempSync(join(tmpdir(), 'vnfpipe-handlers-')) });
    expect(result.exitCode).toBe(1);
    expect(order).toEqual(['verify-fast failed', 'verify-slow passed', 'rollback']);
    expect(result.steps['rollback-a']?.status).toBe('ok');
  });

  it('runs when every step it handles failed', async () => {
    const pipeline = definePipeline('handlers', (p) => {
      const fail = async () => {
        throw new VnfpipeError('STEP_FAILED', 'probe failed');
      };
      const a = p.step('verify-a', fail, { onFailure: ['rollback-ab'] });
      const b = p.step('verify-b', fail, { onFailure: ['rollback-ab'] });
      p.step('rollback-ab', async () => ({ ok: true }), { stage: 'rollback', needs: [a, b] });
    });
    const result = await runPipeline(pipeline, { cwd: mkdtempSync(join(tmpdir(), 'vnfpipe-handlers-')) });
    expect(result.steps['rollback-ab']?.status).toBe('ok');
  });
});
