/** `vnfpipe history` and `vnfpipe rollback`: the release history of a workload, and going back in it. */
import { resolve } from 'node:path';
import { VnfpipeError } from '../errors.js';
import { printTable } from './table.js';

export interface HistoryOptions {
  dir: string;
  target: string;
  json?: boolean;
}

export async function historyCommand(name: string, opts: HistoryOptions): Promise<number> {
  const { checkWorkloadName } = await import('../deploy/history.js');
  checkWorkloadName(name, 'vnfpipe history <name>');
  const stateDir = resolve(opts.dir, '.vnfpipe');
  if (opts.target !== 'docker' && opts.target !== 'swarm') {
    throw new VnfpipeError('USAGE', `unknown target '${opts.target}'`, {
      hint: 'use --target docker or --target swarm',
    });
  }
  const { openTarget } = await import('../deploy/targets.js');
  const rows = await (await openTarget({ stateDir, env: process.env }, { kind: opts.target })).history(name);
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({ name, target: opts.target, revisions: rows.map(({ ...r }) => ({ ...r, workload: undefined })) }, null, 2)}\n`,
    );
    return 0;
  }
  if (rows.length === 0) {
    process.stdout.write(`no revisions of ${name} recorded in ${stateDir}\n`);
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

export async function rollbackCommand(name: string, opts: { dir: string; to?: number }): Promise<number> {
  const { checkWorkloadName } = await import('../deploy/history.js');
  checkWorkloadName(name, 'vnfpipe rollback <name>');
  const stateDir = resolve(opts.dir, '.vnfpipe');
  const { openTarget } = await import('../deploy/targets.js');
  const target = await openTarget({ stateDir, env: process.env }, { kind: 'docker' });
  const release = await target.rollback(name, {
    ...(opts.to !== undefined ? { to: opts.to } : {}),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`${name} is back on revision ${release.revision} (${release.image})\n`);
  return 0;
}
