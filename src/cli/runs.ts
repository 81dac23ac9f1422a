import { resolve } from 'node:path';
import { VnfpipeError } from '../errors.js';
import { formatDuration } from '../pipeline/duration.js';
import { displayStatus, listRuns, type RunRecord } from '../pipeline/journal.js';
import { printTable } from './table.js';

export async function runsCommand(
  runId: string | undefined,
  opts: { dir: string; limit: number; json?: boolean },
): Promise<number> {
  const stateDir = resolve(opts.dir, '.vnfpipe');
  if (runId) return showRun(stateDir, runId, Boolean(opts.json));
  const { runs, unreadable } = await listRuns(stateDir, opts.limit);
  if (opts.json) {
    const rows = runs.map((run) => ({ ...summarise(run), status: displayStatus(run) }));
    process.stdout.write(`${JSON.stringify({ runs: rows, unreadable }, null, 2)}\n`);
    return 0;
  }
  if (runs.length === 0) {
    process.stdout.write(`no runs recorded in ${stateDir}\n`);
  } else {
    const table = [['RUN', 'PIPELINE', 'STATUS', 'STARTED', 'DURATION', 'STEPS', 'STAGES']];
    for (const run of runs) {
      const s = summarise(run);
      table.push([
        run.id,
        run.pipeline,
        displayStatus(run),
        run.startedAt.replace('T', ' ').slice(0, 19),
        s.duration,
        s.steps,
        s.stages,
      ]);
    }
    printTable(table);
  }
  for (const bad of unreadable)
    process.stderr.write(`vnfpipe: warning: skipped run ${bad.id}: ${bad.problem}\n`);
  return 0;
}

function summarise(run: RunRecord) {
  const counts = new Map<string, number>();
  for (const step of Object.values(run.steps)) counts.set(step.status, (counts.get(step.status) ?? 0) + 1);
  return {
    id: run.id,
    pipeline: run.pipeline,
    startedAt: run.startedAt,
    endedAt: run.endedAt ?? null,
    duration: run.endedAt ? formatDuration(Date.parse(run.endedAt) - Date.parse(run.startedAt)) : '-',
    steps: [...counts].map(([status, n]) => `${n} ${status}`).join(', '),
    stages: run.stages?.join(',') ?? 'all',
  };
}

async function showRun(stateDir: string, wanted: string, json: boolean): Promise<number> {
  const { runs } = await listRuns(stateDir);
  const matches = wanted === 'last' ? runs.slice(0, 1) : runs.filter((run) => run.id.startsWith(wanted));
  if (matches.length !== 1) {
    throw new VnfpipeError(
      'USAGE',
      matches.length === 0 ? `no run '${wanted}'` : `'${wanted}' matches ${matches.length} runs`,
      {
        where: stateDir,
        hint: 'vnfpipe runs lists the run ids',
      },
    );
  }
  const run = matches[0]!;
  if (json) {
    process.stdout.write(`${JSON.stringify({ ...run, status: displayStatus(run) }, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(
    `run ${run.id} · ${run.pipeline} · ${displayStatus(run)} · started ${run.startedAt}\n`,
  );
  for (const [id, step] of Object.entries(run.steps)) {
    const time = step.durationMs !== undefined ? ` ${formatDuration(step.durationMs)}` : '';
    const why = step.error ?? step.reason;
    process.stdout.write(
      `  ${id} [${step.stage}] ${step.status}${time}${why ? ` — ${why.split('\n')[0]}` : ''}\n`,
    );
  }
  return 0;
}
