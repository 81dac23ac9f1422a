/**
 * The step kinds only fleets use: the pause between waves, a site's rollback to its previous verified
 * revision, and the report of a halted rollout. Engine modules load inside `run`.
 */
import { hostOf } from '../deploy/engine/address.js';
import { VnfpipeError } from '../errors.js';
import type { Release } from '../pipeline/kinds.js';
import type { Input, StepContext, StepSpec } from '../pipeline/model.js';
import type { ProbeSpec } from '../verify/probes.js';
import type { FleetStepInfo } from './model.js';

type FleetSpec<T, O> = StepSpec<T, O> & { readonly fleet: FleetStepInfo };

export interface PauseOutput {
  waitedMs: number;
  summary: string;
}

/** Waits `ms` before a wave, reporting the seconds as progress; cancelling the run ends the wait. */
export function pause(
  ms: number,
  wave: number,
  stage: string,
): FleetSpec<PauseOutput, { ms: number; wave: number }> {
  return {
    kind: 'pause',
    stage,
    fleet: { wave },
    options: { ms, wave },
    async run(ctx, { ms }) {
      const { setTimeout: sleep } = await import('node:timers/promises');
      const started = Date.now();
      const label = `seconds before wave ${wave}`;
      ctx.log(`waiting ${Math.round(ms / 1000)}s before wave ${wave}`);
      for (let waited = 0; waited < ms; waited = Date.now() - started) {
        ctx.progress({
          label,
          current: Math.floor(waited / 1000),
          total: Math.ceil(ms / 1000),
          unit: 'items',
        });
        await sleep(Math.min(1000, ms - waited), undefined, { signal: ctx.signal });
      }
      ctx.progress({ label, current: Math.ceil(ms / 1000), total: Math.ceil(ms / 1000), unit: 'items' });
      return {
        waitedMs: Date.now() - started,
        summary: `waited ${Math.round(ms / 1000)}s before wave ${wave}`,
      };
    },
  };
}

export interface SiteRollbackOptions {
  site: string;
  release: Input<Release>;
  probes: ProbeSpec[];
}

export interface SiteRollbackOutput {
  site: string;
  name: string;
  /** The revision the site runs now. */
  revision: number;
  /** The revision the rollout had put there. */
  from: number;
  /** True when the site's revision stayed (it was verified before this rollout touched it). */
  kept: boolean;
  summary: string;
}

/**
 * Returns a site to the newest verified revision older than the one the rollout deployed, and re-verifies
 * it. A site the rollout did not change, still on a verified revision, stays as it is.
 */
export function siteRollback(
  options: SiteRollbackOptions,
  wave: number,
  stage: string,
): FleetSpec<SiteRollbackOutput, SiteRollbackOptions> {
  return {
    kind: 'rollback',
    stage,
    fleet: { wave, site: options.site },
    options,
    async run(ctx, opts) {
      const release = opts.release as Release;
      const site = opts.site;
      const rows = await siteHistory(ctx, release);
      const current = rows.find((row) => row.revision === release.revision);
      const earlier = [...rows]
        .reverse()
        .find(
          (row) =>
            row.revision < release.revision && (row.status === 'verified' || row.status === 'superseded'),
        );
      if (release.previous === undefined && current?.status === 'verified') {
        const summary = `${site}: ${release.name} stays on revision ${release.revision}, verified before this rollback (the rollout put nothing older there to return to)`;
        ctx.log(summary);
        return {
          site,
          name: release.name,
          revision: release.revision,
          from: release.revision,
          kept: true,
          summary,
        };
      }
      if (!earlier) {
        throw new VnfpipeError(
          'STEP_FAILED',
          `site ${site}: ${release.name} has no verified revision before revision ${release.revision} to return to; it runs revision ${release.revision}, not verified`,
          {
            where: `site ${site}${release.engine ? ` (${hostOf(release.engine)})` : ''}`,
            hint: `vnfpipe history ${release.name} --site ${site} lists its revisions`,
          },
        );
      }
      const { rollback } = await import('../deploy/step.js');
      // A swarm service returns to its own previous spec only (it takes no revision number).
      const to = release.target === 'swarm' ? {} : { to: earlier.revision };
      const restored = await rollback({ release, probes: opts.probes, ...to }).run(ctx, {
        release,
        probes: opts.probes,
        ...to,
      });
      return {
        site,
        name: release.name,
        revision: restored.restored,
        from: release.revision,
        kept: false,
        summary: `${site}: ${restored.summary}`,
      };
    },
  };
}

async function siteHistory(ctx: StepContext, release: Release) {
  const { targetOf } = await import('../deploy/targets.js');
  return (await targetOf(ctx, release)).history(release.name);
}

export interface HaltOptions {
  releases: Record<string, Input<Release>>;
}

export interface HaltOutput {
  wave: number;
  /** Sites whose running revision did not pass verify. */
  unverified: Array<{ site: string; name: string; revision: number; engine?: string }>;
  summary: string;
}

/** With `onWaveFailure: 'halt'`: nothing is rolled back; this says which sites run an unverified revision. */
export function haltReport(
  options: HaltOptions,
  wave: number,
  stage: string,
): FleetSpec<HaltOutput, HaltOptions> {
  return {
    kind: 'halt',
    stage,
    fleet: { wave },
    options,
    async run(ctx, opts) {
      const unverified: HaltOutput['unverified'] = [];
      for (const [site, value] of Object.entries(opts.releases)) {
        const release = value as Release;
        const row = (await siteHistory(ctx, release)).find((r) => r.revision === release.revision);
        if (row?.status === 'verified') continue;
        unverified.push({
          site,
          name: release.name,
          revision: release.revision,
          ...(release.engine ? { engine: hostOf(release.engine) } : {}),
        });
      }
      const which = unverified.map((u) => `${u.site} runs ${u.name} revision ${u.revision}, not verified`);
      const summary = `halted at wave ${wave}, nothing rolled back, later waves not started${which.length ? `: ${which.join('; ')}` : ''}`;
      for (const line of which) ctx.log(line, 'warn');
      return { wave, unverified, summary };
    },
  };
}
