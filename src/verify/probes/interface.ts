/** The interface probe: names, addresses and the default route, seen from the workload's network namespace. */

import type { ProbeSpec } from '../probes.js';
import type { ProbeOutcome } from '../run.js';
import type { ProbeRuntime } from '../runtime.js';

export async function interfaceCheck(
  runtime: ProbeRuntime,
  spec: Extract<ProbeSpec, { kind: 'interface' }>,
): Promise<ProbeOutcome> {
  const probe = await runtime.probeContainer({
    image: await runtime.image(),
    args: ['ifaces'],
    shareWith: runtime.container,
  });
  let listing: string;
  try {
    listing = (await probe.wait(15_000)).stdout;
  } finally {
    await probe.remove();
  }
  const addresses = [...listing.matchAll(/^iface (\S+) (\S+)$/gm)]
    .filter((m) => m[1] === spec.name)
    .map((m) => m[2]!);
  const defaults = [...listing.matchAll(/^default (\S+) (\S+)$/gm)].map((m) => m[1]);
  const expected = spec.address ?? (spec.role ? await roleSubnetPrefix(runtime, spec.role) : undefined);
  const problems: string[] = [];
  if (addresses.length === 0) problems.push('has no IPv4 address');
  if (expected && !addresses.some((a) => a.startsWith(expected)))
    problems.push(`has no address in ${expected}`);
  if (spec.defaultRoute === true && !defaults.includes(spec.name))
    problems.push(`does not carry the default route (${defaults.join(', ') || 'none'})`);
  if (spec.defaultRoute === false && defaults.includes(spec.name)) problems.push('carries the default route');
  return {
    passed: problems.length === 0,
    evidence: `${spec.name} ${addresses.join(', ') || 'no address'}${defaults.includes(spec.name) ? ', default route' : ''}${problems.length ? `: ${problems.join('; ')}` : ''}`,
  };
}

/** The workload's address on a role's network, as a prefix test for an interface check. */
export async function roleSubnetPrefix(runtime: ProbeRuntime, role: string): Promise<string> {
  return `${await runtime.address(role)}/`;
}
