/** The closing lines of a run for people: counts, failures with where to read more, the journal. */
import { formatDuration } from '../pipeline/duration.js';
import type { RunEvent } from '../pipeline/events.js';
import { displayPath } from '../pipeline/site.js';
import { STATUS_ICON, type Style } from './style.js';

export interface StepEnd {
  step: string;
  status: string;
  error?: string;
  reason?: string;
  summary?: string;
}

export function summaryLines(
  end: Extract<RunEvent, { type: 'run.end' }>,
  steps: StepEnd[],
  style: Style,
): string[] {
  const counts = new Map<string, number>();
  for (const step of steps) counts.set(step.status, (counts.get(step.status) ?? 0) + 1);
  const parts = [...counts].map(([status, n]) => `${n} ${status}`).join(', ');
  const colour = end.status === 'ok' ? style.green : end.status === 'failed' ? style.red : style.yellow;
  const lines = [
    colour(
      `${STATUS_ICON[end.status === 'ok' ? 'ok' : end.status] ?? ''} run ${end.status} in ${formatDuration(end.durationMs)} (${parts || 'no steps'})`,
    ),
  ];
  // What the release did (deployed, verified, rolled back), in the order the steps finished.
  for (const step of steps) {
    if (!step.summary) continue;
    const [first, ...rest] = step.summary.split('\n');
    lines.push(`  ${step.step}: ${first}`, ...rest.map((line) => `    ${line}`));
  }
  // The details were printed under the failed step: one line each here.
  for (const step of steps.filter((s) => s.status === 'failed')) {
    lines.push(style.red(`  ${step.step}: ${firstLine(step.error, step.step)}`));
  }
  lines.push(style.dim(`  journal: ${displayPath(end.journal)}`));
  return lines;
}

/** A step's error without a leading `step <id>:`: it is shown next to or under the step already. */
function ownError(error: string | undefined, step: string): string {
  const text = error || 'failed';
  return text.startsWith(`step ${step}: `) ? text.slice(`step ${step}: `.length) : text;
}

export function firstLine(error: string | undefined, step: string): string {
  return ownError(error, step).split('\n')[0]!;
}

/** A failed step's error, every line indented under the step's line. */
export function indentedError(error: string | undefined, step: string): string[] {
  return ownError(error, step)
    .split('\n')
    .map((line) => `    ${line}`);
}
