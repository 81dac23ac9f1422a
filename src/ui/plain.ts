/**
 * Plain logs for CI and pipes. Under GitHub Actions and GitLab CI each step's lines are printed as one
 * collapsible group when the step ends (parallel steps would otherwise interleave); elsewhere lines
 * stream live with a `[step]` prefix.
 */

import { formatDuration } from '../pipeline/duration.js';
import type { EventListener, RunEvent } from '../pipeline/events.js';
import { formatProgress, STATUS_ICON, type Style } from './style.js';
import { indentedError, type StepEnd, summaryLines } from './summary.js';

export type CiFlavour = 'github' | 'gitlab' | 'none';

export function detectCi(env: Readonly<Record<string, string | undefined>>): CiFlavour {
  if (env.GITHUB_ACTIONS === 'true') return 'github';
  if (env.GITLAB_CI === 'true') return 'gitlab';
  return 'none';
}

export function plainRenderer(
  write: (text: string) => void,
  style: Style,
  flavour: CiFlavour,
): { listener: EventListener; close(): void } {
  const buffered = new Map<string, string[]>();
  // The last stderr lines of each step, for the GitHub error annotation (the group is collapsed).
  const stderrTail = new Map<string, string[]>();
  const lastProgress = new Map<string, number>();
  const ends: StepEnd[] = [];
  const println = (line: string) => write(`${line}\n`);
  const grouped = flavour !== 'none';

  const header = (event: Extract<RunEvent, { type: 'step.end' }>) => {
    const detail = event.reason
      ? ` — ${event.reason}`
      : event.attempts > 1
        ? ` — ${event.attempts} attempts`
        : '';
    return `${STATUS_ICON[event.status]} ${event.step} ${event.status} (${formatDuration(event.durationMs)})${detail}`;
  };

  const listener: EventListener = (event) => {
    switch (event.type) {
      case 'run.start':
        println(
          style.bold(`vnfpipe: ${event.pipeline} · run ${event.runId} · stages ${event.stages.join(' → ')}`),
        );
        break;
      case 'step.start':
        if (!grouped)
          println(
            style.dim(`[${event.step}] started${event.attempt > 1 ? ` (attempt ${event.attempt})` : ''}`),
          );
        break;
      case 'step.log': {
        const line = event.line;
        if (event.stream === 'stderr') {
          const tail = stderrTail.get(event.step) ?? [];
          tail.push(line);
          stderrTail.set(event.step, tail.slice(-5));
        }
        if (grouped) {
          const lines = buffered.get(event.step) ?? [];
          lines.push(neutralise(line, flavour));
          buffered.set(event.step, lines);
        } else {
          println(`[${event.step}] ${line}`);
        }
        break;
      }
      case 'step.progress': {
        // A line per 25% (or per 10 s without a total) keeps CI logs readable.
        const key = `${event.step}\0${event.label}`;
        const fraction = event.total
          ? Math.floor((event.current / event.total) * 4)
          : Math.floor(event.time / 10_000);
        if (lastProgress.get(key) === fraction) break;
        lastProgress.set(key, fraction);
        const line = `${event.label}: ${formatProgress(event.current, event.total, event.unit)}`;
        if (grouped) buffered.get(event.step)?.push(line) ?? buffered.set(event.step, [line]);
        else println(style.dim(`[${event.step}] ${line}`));
        break;
      }
      case 'step.retry':
        if (!grouped)
          println(
            style.yellow(
              `[${event.step}] attempt ${event.attempt} failed: ${event.error}; retrying in ${formatDuration(event.delayMs)}`,
            ),
          );
        else buffered.get(event.step)?.push(`attempt ${event.attempt} failed: ${event.error}`);
        break;
      case 'step.end': {
        ends.push({
          step: event.step,
          status: event.status,
          error: event.error,
          reason: event.reason,
          summary: event.summary,
        });
        const title = header(event);
        if (flavour === 'github') {
          println(`::group::${title}`);
          for (const line of buffered.get(event.step) ?? []) println(line);
          println('::endgroup::');
          if (event.status === 'failed') {
            const text = [event.error ?? 'failed', ...(stderrTail.get(event.step) ?? [])].join('\n');
            println(`::error title=vnfpipe step ${event.step}::${escapeGithub(text)}`);
          }
        } else if (flavour === 'gitlab') {
          const name = `vnfpipe_${event.step.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}`;
          const at = Math.floor(event.time / 1000);
          const collapsed = event.status === 'failed' ? '' : '[collapsed=true]';
          println(`\x1b[0Ksection_start:${at}:${name}${collapsed}\r\x1b[0K${title}`);
          for (const line of buffered.get(event.step) ?? []) println(line);
          println(`\x1b[0Ksection_end:${at}:${name}\r\x1b[0K`);
        } else {
          const colour =
            event.status === 'failed'
              ? style.red
              : event.status === 'ok' || event.status === 'cached'
                ? style.green
                : style.yellow;
          println(colour(title));
        }
        if (event.status === 'failed' && flavour !== 'github')
          for (const line of indentedError(event.error, event.step)) println(style.red(line));
        buffered.delete(event.step);
        stderrTail.delete(event.step);
        break;
      }
      case 'run.end':
        for (const line of summaryLines(event, ends, style)) println(line);
        break;
    }
  };
  return { listener, close() {} };
}

/** Output of a step must not be able to issue workflow commands in GitHub Actions. */
function neutralise(line: string, flavour: CiFlavour): string {
  return flavour === 'github' && line.startsWith('::') ? ` ${line}` : line;
}

function escapeGithub(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
