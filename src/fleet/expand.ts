/**
 * `fleet()`: a rollout site by site, wave by wave, expanded into ordinary steps — per site `deploy-<site>`
 * and `verify-<site>` in stage `wave-<n>`, each wave needing the previous wave's verifies, and the steps that
 * run when a verify fails (`rollback-<site>` in stage `rollback-wave-<n>`, or `halt-wave-<n>`). `plan`, the
 * live UI, the journal and the CI emitters see nothing but steps and stages.
 */
import { checkEngineChoice } from '../deploy/engine/address.js';
import { type DockerDeployStepOptions, deploy } from '../deploy/step.js';
import { VnfpipeError } from '../errors.js';
import type { PipelineBuilder, StepGroup } from '../pipeline/define.js';
import { parseDuration } from '../pipeline/duration.js';
import type { Release } from '../pipeline/kinds.js';
import type { StepContext, StepHandle, StepSpec } from '../pipeline/model.js';
import { callerSite } from '../pipeline/site.js';
import type { VerifyOutput } from '../verify/step.js';
import { verify } from '../verify/step.js';
import {
  type FleetOptions,
  haltStage,
  rollbackStage,
  type Site,
  WAVE_FAILURE_POLICIES,
  waveStage,
} from './model.js';
import { siteWorkload } from './overrides.js';
import { type HaltOutput, haltReport, pause, type SiteRollbackOutput, siteRollback } from './steps.js';

export interface FleetSiteHandles {
  deploy: StepHandle<Release>;
  verify: StepHandle<VerifyOutput>;
  /** Absent with `onWaveFailure: 'halt'`. */
  rollback?: StepHandle<SiteRollbackOutput>;
}

export interface FleetHandles {
  sites: Record<string, FleetSiteHandles>;
  /** The verify steps of the last wave: what a step after the whole rollout needs. */
  done: StepHandle<VerifyOutput>[];
  halts: StepHandle<HaltOutput>[];
}

const SITE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A rollout over sites in waves; add it to a pipeline with `p.add(fleet({ … }))`. */
export function fleet(options: FleetOptions): StepGroup<FleetHandles> {
  const declaredAt = callerSite();
  const checked = checkFleet(options, declaredAt);
  return { addTo: (p) => expand(p, options, checked) };
}

interface Checked {
  pauseMs: number;
  maxParallel: number;
  policy: NonNullable<FleetOptions['onWaveFailure']>;
}

function checkFleet(options: FleetOptions, declaredAt: string | undefined): Checked {
  const problems: string[] = [];
  const sites = options?.sites;
  const waves = options?.waves;
  if (typeof sites !== 'object' || sites === null || Object.keys(sites).length === 0) {
    problems.push("'sites' must name at least one site");
  }
  const siteNames = new Set(Object.keys(sites ?? {}));
  for (const [name, site] of Object.entries(sites ?? {})) problems.push(...siteProblems(name, site));
  if (!Array.isArray(waves) || waves.length === 0) problems.push("'waves' must list at least one wave");
  const waveOf = new Map<string, number>();
  for (const [i, wave] of (Array.isArray(waves) ? waves : []).entries()) {
    if (!Array.isArray(wave) || wave.length === 0) {
      problems.push(`wave ${i + 1} is empty: a wave lists one site or more`);
      continue;
    }
    for (const site of wave) {
      if (!siteNames.has(site)) {
        problems.push(`wave ${i + 1} names site '${String(site)}', which is not in 'sites'`);
      } else if (waveOf.has(site)) {
        const first = waveOf.get(site)!;
        problems.push(
          first === i + 1
            ? `site '${site}' appears twice in wave ${first}`
            : `site '${site}' is in wave ${first} and in wave ${i + 1}: a site is rolled out once`,
        );
      } else {
        waveOf.set(site, i + 1);
      }
    }
  }
  for (const site of siteNames) {
    if (!waveOf.has(site) && Array.isArray(waves)) problems.push(`site '${site}' is in no wave`);
  }
  const maxParallel = options?.maxParallel ?? Number.POSITIVE_INFINITY;
  if (options?.maxParallel !== undefined && (!Number.isInteger(maxParallel) || maxParallel < 1)) {
    problems.push(`maxParallel must be a whole number ≥ 1, got ${String(options.maxParallel)}`);
  }
  const policy = options?.onWaveFailure ?? 'rollback-wave';
  if (!WAVE_FAILURE_POLICIES.includes(policy)) {
    problems.push(`onWaveFailure '${String(policy)}' is not one of ${WAVE_FAILURE_POLICIES.join(', ')}`);
  }
  if (!Array.isArray(options?.probes) || options.probes.length === 0) {
    problems.push("'probes' must list at least one probe: every site is verified");
  }
  if (typeof options?.workload !== 'object' || options.workload === null)
    problems.push("'workload' is required");
  let pauseMs = 0;
  try {
    if (options?.pauseBetween !== undefined) pauseMs = parseDuration(options.pauseBetween, 'pauseBetween');
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (problems.length > 0) {
    throw new VnfpipeError(
      'PIPELINE_INVALID',
      `fleet is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      {
        ...(declaredAt ? { where: declaredAt } : {}),
      },
    );
  }
  return { pauseMs, maxParallel, policy };
}

function siteProblems(name: string, site: Site): string[] {
  const at = `site '${name}'`;
  if (!SITE_NAME.test(name))
    return [`${at}: a site name is letters, digits, '.', '_' or '-' (it names steps)`];
  if (typeof site !== 'object' || site === null) return [`${at} must be an object`];
  const problems: string[] = [];
  try {
    checkEngineChoice(at, site);
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (site.target !== undefined && site.target !== 'docker' && site.target !== 'swarm') {
    problems.push(`${at}: target '${String(site.target)}' is not docker or swarm`);
  }
  return problems;
}

function expand(p: PipelineBuilder, options: FleetOptions, checked: Checked): FleetHandles {
  const handles: FleetHandles = { sites: {}, done: [], halts: [] };
  let previousVerifies: StepHandle<VerifyOutput>[] = [];
  const waves = options.waves.map((sites, i) => ({ number: i + 1, sites }));

  for (const wave of waves) {
    const stage = waveStage(wave.number);
    let gate: Array<StepHandle<unknown>> = previousVerifies;
    if (checked.pauseMs > 0 && wave.number > 1) {
      gate = [
        p.step(`pause-wave-${wave.number}`, pause(checked.pauseMs, wave.number, stage), { needs: gate }),
      ];
    }
    const deploys: StepHandle<Release>[] = [];
    const verifies: StepHandle<VerifyOutput>[] = [];
    for (const [i, site] of wave.sites.entries()) {
      // maxParallel lanes: a site's deploy waits for the deploy maxParallel places before it in the wave.
      const lane = i >= checked.maxParallel ? [deploys[i - checked.maxParallel]!] : [];
      // A deploy that fails fails its wave as a failed verify does: the sites of the wave (and with
      // rollback-all, of every earlier wave) that took the new revision are rolled back. The failed site itself
      // is not (its rollback is skipped with its verify): the docker target restarts the previous revision
      // and a swarm update rolls back on its own. A halt report needs every verify of its wave, so under
      // `halt` a failed deploy only stops later waves, as before.
      const deployed = p.step(`deploy-${site}`, siteDeploy(site, options, wave.number, stage), {
        needs: [...gate, ...lane],
        ...(checked.policy === 'halt' ? {} : { onFailure: onFailureOf(checked.policy, waves, wave.number) }),
      });
      deploys.push(deployed);
      const verified = p.step(
        `verify-${site}`,
        tagged(verify({ release: deployed.out, probes: options.probes }), { wave: wave.number, site }),
        { stage, onFailure: onFailureOf(checked.policy, waves, wave.number) },
      );
      verifies.push(verified);
      handles.sites[site] = { deploy: deployed, verify: verified };
    }
    if (checked.policy === 'halt') {
      const releases = Object.fromEntries(wave.sites.map((site, i) => [site, deploys[i]!.out]));
      const halt = haltReport({ releases }, wave.number, haltStage(wave.number));
      handles.halts.push(p.step(`halt-wave-${wave.number}`, halt, { needs: verifies }));
    } else {
      for (const [i, site] of wave.sites.entries()) {
        const spec = siteRollback(
          { site, release: deploys[i]!.out, probes: options.probes },
          wave.number,
          rollbackStage(wave.number),
        );
        // After the site's own verify, passed or failed: never while it still probes or promotes.
        handles.sites[site]!.rollback = p.step(`rollback-${site}`, spec, { needs: [verifies[i]!] });
      }
    }
    previousVerifies = verifies;
  }
  handles.done = previousVerifies;
  return handles;
}

/** The steps a failed verify in wave `n` triggers. */
function onFailureOf(
  policy: Checked['policy'],
  waves: ReadonlyArray<{ number: number; sites: string[] }>,
  n: number,
): string[] {
  if (policy === 'halt') return [`halt-wave-${n}`];
  const rolledBack = policy === 'rollback-all' ? waves.filter((w) => w.number <= n) : [waves[n - 1]!];
  return rolledBack.flatMap((w) => w.sites.map((site) => `rollback-${site}`));
}

function siteDeploy(name: string, options: FleetOptions, wave: number, stage: string) {
  const site = options.sites[name]!;
  const where = {
    workload: siteWorkload(options.workload, site.overrides, name),
    ...(site.engine ? { engine: site.engine } : {}),
    ...(site.context ? { context: site.context } : {}),
  } satisfies DockerDeployStepOptions;
  const spec = site.target === 'swarm' ? deploy.swarm(where) : deploy.docker(where);
  return {
    ...tagged(spec, { wave, site: name }),
    stage,
    // The release names its site: `vnfpipe status` finds every site's engine in the journal.
    run: async (ctx: StepContext, resolved: unknown) => ({
      ...(await spec.run(ctx, resolved as never)),
      site: name,
    }),
  } as typeof spec;
}

function tagged<S extends StepSpec<unknown, unknown>>(spec: S, fleet: { wave: number; site?: string }): S {
  return { ...spec, fleet };
}
