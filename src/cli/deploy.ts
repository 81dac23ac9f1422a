/** `vnfpipe history` and `vnfpipe rollback`: the release history of a workload, and going back in it. */

import { resolve } from 'node:path';
import { describeEngine } from '../deploy/engine/address.js';
import { VnfpipeError } from '../errors.js';
import { printTable } from './table.js';

export interface TargetOptions {
  dir: string;
  target: string;
  namespace?: string;
  /** kubernetes: the kubeconfig context; docker and swarm: the docker context. */
  context?: string;
  kubeconfig?: string;
  /** docker and swarm: the engine, DOCKER_HOST form. */
  engine?: string;
}

export interface HistoryOptions extends TargetOptions {
  json?: boolean;
  /** A fleet site: its engine and target come from the journal. */
  site?: string;
}

/** The target the command names, opened through the one factory. */
async function openNamed(opts: TargetOptions, allowed: string[]) {
  if (!allowed.includes(opts.target)) {
    throw new VnfpipeError('USAGE', `unknown target '${opts.target}'`, {
      hint: `use --target ${allowed.join(', --target ')}`,
    });
  }
  const { openTarget } = await import('../deploy/targets.js');
  const on = { stateDir: resolve(opts.dir, '.vnfpipe'), env: process.env };
  if (opts.target !== 'kubernetes') {
    if (opts.engine && opts.context) {
      throw new VnfpipeError('USAGE', 'give either --engine or --context, not both', {
        hint: 'a docker context already names its engine',
      });
    }
    if (opts.engine) {
      const { parseEngineHost } = await import('../deploy/engine/address.js');
      parseEngineHost(opts.engine, '--engine');
    }
    return openTarget(
      { ...on, cwd: resolve(opts.dir) },
      {
        kind: opts.target as 'docker' | 'swarm',
        ...(opts.engine ? { engine: opts.engine } : {}),
        ...(opts.context ? { context: opts.context } : {}),
      },
    );
  }
  if (opts.engine) {
    throw new VnfpipeError('USAGE', '--engine is for --target docker or swarm', {
      hint: 'a kubernetes target is named by --namespace, --context and --kubeconfig',
    });
  }
  if (!opts.namespace) {
    throw new VnfpipeError('USAGE', '--target kubernetes needs --namespace', {
      hint: 'the namespace the deploy step applied to',
    });
  }
  return openTarget(on, {
    kind: 'kubernetes',
    namespace: opts.namespace,
    ...(opts.context ? { context: opts.context } : {}),
    ...(opts.kubeconfig ? { kubeconfig: resolve(opts.kubeconfig) } : {}),
  });
}

export async function historyCommand(name: string, opts: HistoryOptions): Promise<number> {
  const { checkWorkloadName } = await import('../deploy/history.js');
  checkWorkloadName(name, 'vnfpipe history <name>');
  const stateDir = resolve(opts.dir, '.vnfpipe');
  const site = opts.site ? await siteTarget(stateDir, name, opts.site) : undefined;
  const target = site?.target ?? (await openNamed(opts, ['docker', 'swarm', 'kubernetes']));
  const rows = await target.history(name);
  if (opts.json) {
    const where = site
      ? { site: opts.site, target: target.kind, ...(site.engine ? { engine: site.engine } : {}) }
      : { target: opts.target };
    process.stdout.write(
      `${JSON.stringify({ name, ...where, revisions: rows.map(({ ...r }) => ({ ...r, workload: undefined })) }, null, 2)}\n`,
    );
    return 0;
  }
  if (site)
    process.stdout.write(
      `${name} at site ${opts.site} (${target.kind}${site.engine ? ` on ${site.engine}` : ''})\n`,
    );
  if (rows.length === 0) {
    const where = opts.target === 'kubernetes' ? `namespace ${opts.namespace}` : stateDir;
    process.stdout.write(`no revisions of ${name} recorded in ${where}\n`);
    return 0;
  }
  const table = [['REV', 'STATUS', 'STATE', 'IMAGE', 'DEPLOYED', 'NOTE']];
  for (const r of rows)
    table.push([
      String(r.revision),
      r.status,
      r.state ?? '-',
      r.image,
      r.createdAt.replace('T', ' ').slice(0, 19),
      r.note ?? '',
    ]);
  printTable(table);
  return 0;
}

/** A fleet site's target, opened on the engine its newest deploy recorded. */
async function siteTarget(stateDir: string, name: string, site: string) {
  const [{ findSite }, { openTarget }] = await Promise.all([
    import('../fleet/sites.js'),
    import('../deploy/targets.js'),
  ]);
  const found = await findSite(stateDir, name, site);
  const address = {
    kind: found.target,
    ...(found.engine ? { engine: found.engine } : {}),
    ...(found.context ? { context: found.context } : {}),
  };
  return { target: await openTarget({ stateDir, env: process.env }, address), engine: describeEngine(found) };
}

export async function rollbackCommand(name: string, opts: TargetOptions & { to?: number }): Promise<number> {
  const { checkWorkloadName } = await import('../deploy/history.js');
  checkWorkloadName(name, 'vnfpipe rollback <name>');
  const target = await openNamed({ ...opts, target: opts.target ?? 'docker' }, ['docker', 'kubernetes']);
  const release = await target.rollback(name, {
    ...(opts.to !== undefined ? { to: opts.to } : {}),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`${name} is back on revision ${release.revision} (${release.image})\n`);
  return 0;
}
