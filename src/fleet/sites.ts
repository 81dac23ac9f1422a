/**
 * Where a workload runs across a fleet, read back from the journal (each site's newest deploy says its engine)
 * and from the engines themselves (what revision serves there now, and whether it passed verify).
 */
import { describeEngine, type EngineOption } from '../deploy/engine/address.js';
import { messageOf, VnfpipeError } from '../errors.js';
import { listRuns } from '../pipeline/journal.js';
import type { Release } from '../pipeline/kinds.js';

export interface KnownSite {
  site: string;
  target: 'docker' | 'swarm';
  engine?: EngineOption;
  context?: string;
  /** The run whose deploy last recorded the site. */
  runId: string;
}

/** Every site `name` was deployed to by a fleet, as its newest recorded deploy addressed it. */
export async function knownSites(stateDir: string, name: string): Promise<KnownSite[]> {
  const sites = new Map<string, KnownSite>();
  const { runs } = await listRuns(stateDir);
  for (const run of runs) {
    for (const record of Object.values(run.steps)) {
      const release = record.output as Partial<Release> | undefined;
      if (record.kind !== 'deploy' || typeof release?.site !== 'string' || release.name !== name) continue;
      if (sites.has(release.site) || (release.target !== 'docker' && release.target !== 'swarm')) continue;
      sites.set(release.site, {
        site: release.site,
        target: release.target,
        ...(release.engine ? { engine: release.engine } : {}),
        ...(typeof release.context === 'string' ? { context: release.context } : {}),
        runId: run.id,
      });
    }
  }
  return [...sites.values()].sort((a, b) => a.site.localeCompare(b.site));
}

/** The site named `site`, or a usage error listing the known ones. */
export async function findSite(stateDir: string, name: string, site: string): Promise<KnownSite> {
  const sites = await knownSites(stateDir, name);
  const found = sites.find((s) => s.site === site);
  if (found) return found;
  throw new VnfpipeError('USAGE', `no fleet run recorded a deploy of ${name} at site '${site}'`, {
    where: stateDir,
    hint: sites.length
      ? `its sites: ${sites.map((s) => s.site).join(', ')}`
      : `no run in this project deployed ${name} with fleet()`,
  });
}

export interface SiteStatus {
  site: string;
  target: 'docker' | 'swarm';
  /** The site's engine as messages name it (DOCKER_HOST string or `context <name>`); absent: the environment's. */
  engine?: string;
  /** The revision serving now; absent when none runs or the engine cannot be asked. */
  revision?: number;
  image?: string;
  /** The revision's status in the release history (`verified`, `deployed` = not verified, …). */
  status?: string;
  verified: boolean;
  /** What the engine says (running, not running), or why it could not be asked. */
  state: string;
}

export async function siteStatuses(
  stateDir: string,
  name: string,
  env: NodeJS.ProcessEnv,
): Promise<SiteStatus[]> {
  const { openTarget } = await import('../deploy/targets.js');
  const statuses: SiteStatus[] = [];
  for (const site of await knownSites(stateDir, name)) {
    const engine = describeEngine(site);
    const base = { site: site.site, target: site.target, ...(engine ? { engine } : {}) };
    try {
      const target = await openTarget(
        { stateDir, env },
        {
          kind: site.target,
          ...(site.engine ? { engine: site.engine } : {}),
          ...(site.context ? { context: site.context } : {}),
        },
      );
      const now = await target.status(name);
      const row =
        now.revision === undefined
          ? undefined
          : (await target.history(name)).find((r) => r.revision === now.revision);
      statuses.push({
        ...base,
        ...(now.revision !== undefined ? { revision: now.revision } : {}),
        ...(row ? { image: row.image, status: row.status } : {}),
        verified: row?.status === 'verified',
        state: now.state,
      });
    } catch (error) {
      statuses.push({ ...base, verified: false, state: `unreachable: ${messageOf(error)}` });
    }
  }
  return statuses;
}
