/** A site's overrides merged onto the fleet's workload. */
import { VnfpipeError } from '../errors.js';
import { isOutputRef } from '../pipeline/output.js';
import type { FleetWorkload, SiteOverrides } from './model.js';

/** Maps whose keys merge one by one (a site adds or changes a variable, the rest stay). */
const MERGED_BY_KEY = ['env', 'labels', 'sysctls', 'resources', 'security'] as const;

export function siteWorkload(workload: FleetWorkload, overrides: SiteOverrides | undefined, site: string) {
  if (!overrides) return workload;
  if (typeof overrides !== 'object' || isOutputRef(overrides)) {
    throw new VnfpipeError('PIPELINE_INVALID', `fleet: site '${site}': overrides must be an object`);
  }
  if ('image' in overrides) {
    throw new VnfpipeError('PIPELINE_INVALID', `fleet: site '${site}': overrides cannot change the image`, {
      hint: 'every site of a fleet runs the same image; give sites their own fleet to run another one',
    });
  }
  const merged: Record<string, unknown> = { ...workload };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined || key === 'networks') continue;
    const base = (workload as Record<string, unknown>)[key];
    merged[key] =
      (MERGED_BY_KEY as readonly string[]).includes(key) && isMap(base) && isMap(value)
        ? { ...base, ...value }
        : value;
  }
  if (overrides.networks) merged.networks = mergeNetworks(workload, overrides.networks, site);
  return merged as FleetWorkload;
}

function mergeNetworks(
  workload: FleetWorkload,
  changes: NonNullable<SiteOverrides['networks']>,
  site: string,
): FleetWorkload['networks'] {
  const networks = (workload.networks ?? []).map((net) => ({ ...net }));
  for (const change of changes) {
    const net = networks.find((n) => n.role === change?.role);
    if (!net) {
      const roles = networks.map((n) => n.role);
      throw new VnfpipeError(
        'PIPELINE_INVALID',
        `fleet: site '${site}': overrides name network role '${String(change?.role)}', which the workload does not have`,
        { hint: roles.length ? `its roles: ${roles.join(', ')}` : 'the workload declares no networks' },
      );
    }
    Object.assign(net, change);
  }
  return networks;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isOutputRef(value);
}
