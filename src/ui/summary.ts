/** The closing lines of a run for people: counts, failures with where to read more, the journal. */
import { relative } from 'node:path';
import { formatDuration } from '../pipeline/duration.js';
import type { RunEvent } from '../pipeline/events.js';
import { STATUS_ICON, type Style } from './style.js';

export interface StepEnd {
  step: string;
  status: string;
  error?: string;
  reason?: string;
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
  for (const step of steps.filter((s) => s.status === 'failed')) {
    lines.push(style.red(`  ${step.step}: ${step.error ?? 'failed'}`));
  }
  lines.push(style.dim(`  journal: ${relative(process.cwd(), end.journal) || end.journal}`));
  return lines;
}
