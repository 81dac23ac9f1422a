/** `vnfpipe status <name>`: the revision each fleet site runs, and whether it passed verify. */
import { resolve } from 'node:path';
import { EXIT, VnfpipeError } from '../errors.js';
import { printTable } from './table.js';

export async function statusCommand(name: string, opts: { dir: string; json?: boolean }): Promise<number> {
  const [{ checkWorkloadName }, { siteStatuses }] = await Promise.all([
    import('../deploy/history.js'),
    import('../fleet/sites.js'),
  ]);
  checkWorkloadName(name, 'vnfpipe status <name>');
  const stateDir = resolve(opts.dir, '.vnfpipe');
  const sites = await siteStatuses(stateDir, name, process.env);
  if (sites.length === 0) {
    throw new VnfpipeError('USAGE', `no fleet run recorded a deploy of ${name}`, {
      where: stateDir,
      hint: 'run the pipeline with the fleet first, or pass -d <project directory>',
    });
  }
  const allVerified = sites.every((site) => site.verified);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ name, verified: allVerified, sites }, null, 2)}\n`);
  } else {
    const table = [['SITE', 'TARGET', 'ENGINE', 'REV', 'VERIFIED', 'STATE', 'IMAGE']];
    for (const site of sites) {
      table.push([
        site.site,
        site.target,
        site.engine ?? '(DOCKER_HOST)',
        site.revision !== undefined ? String(site.revision) : '-',
        site.verified ? 'yes' : site.revision !== undefined ? `no (${site.status ?? 'unknown'})` : 'no',
        site.state,
        site.image ?? '-',
      ]);
    }
    printTable(table);
    const unverified = sites.filter((site) => !site.verified).map((site) => site.site);
    if (unverified.length) process.stdout.write(`not on a verified revision: ${unverified.join(', ')}\n`);
  }
  return allVerified ? EXIT.ok : EXIT.failed;
}
