/**
 * Live progress for a terminal: the steps as a tree under their stages, a spinner and elapsed time for
 * running steps, byte-progress bars for transfers and the last log lines. When the run ends, each failed
 * step's error and the end of its log are printed once, under it; every log is in the journal.
 */

import { formatDuration } from '../pipeline/duration.js';
import type { EventListener, RunEvent } from '../pipeline/events.js';
import { formatProgress, STATUS_ICON, type Style } from './style.js';
import { firstLine, indentedError, type StepEnd, summaryLines } from './summary.js';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const TAIL_LINES = 3;
const BAR_WIDTH = 20;

interface StepView {
  id: string;
  stage: string;
  status: string;
  startedAt?: number;
  durationMs?: number;
  detail?: string;
  error?: string;
  tail: string[];
  log: string[];
  progress: Map<string, { current: number; total?: number; unit: 'bytes' | 'items' }>;
}

export function ttyRenderer(
  write: (text: string) => void,
  style: Style,
  columns: () => number,
  rows: () => number = () => Number.POSITIVE_INFINITY,
): { listener: EventListener; close(): void } {
  const steps = new Map<string, StepView>();
  let stages: string[] = [];
  let title = '';
  let drawnLines = 0;
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;
  const ends: StepEnd[] = [];

  /** Cuts a styled line to the terminal width, counting only visible characters. */
  const clip = (line: string) => {
    const width = Math.max(20, columns() - 1);
    let visible = 0;
    let out = '';
    for (let i = 0; i < line.length; i++) {
      const ansi = /^\x1b\[[0-9;?]*[A-Za-z]/.exec(line.slice(i, i + 12));
      if (ansi) {
        out += ansi[0];
        i += ansi[0].length - 1;
        continue;
      }
      if (visible === width - 1 && i < line.length - 1) return `${out}…\x1b[0m`;
      out += line[i];
      visible++;
    }
    return out;
  };

  const bar = (current: number, total: number) => {
    const filled = Math.round((Math.min(current, total) / total) * BAR_WIDTH);
    return `[${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}] ${Math.floor((current / total) * 100)}%`;
  };

  const stepLines = (step: StepView): { head: string; extra: string[] } => {
    const running = step.status === 'running';
    const icon = running ? SPINNER[frame % SPINNER.length]! : (STATUS_ICON[step.status] ?? '?');
    const elapsed = running && step.startedAt ? Date.now() - step.startedAt : step.durationMs;
    const time = elapsed !== undefined ? style.dim(` ${formatDuration(elapsed)}`) : '';
    const colour =
      step.status === 'failed'
        ? style.red
        : step.status === 'ok' || step.status === 'cached'
          ? style.green
          : (t: string) => t;
    const detail = step.detail ? style.dim(` — ${step.detail}`) : '';
    const head = clip(`  ${colour(`${icon} ${step.id}`)}${time}${detail}`);
    if (!running) return { head, extra: [] };
    const extra: string[] = [];
    for (const [label, p] of step.progress) {
      const amount = formatProgress(p.current, p.total, p.unit);
      extra.push(clip(`      ${p.total ? `${bar(p.current, p.total)} ` : ''}${amount} ${style.dim(label)}`));
    }
    for (const line of step.tail) extra.push(clip(style.dim(`      │ ${line}`)));
    return { head, extra };
  };

  /**
   * The tree, at most `height` lines. A frame taller than the window cannot be redrawn in place (the
   * cursor cannot move above the top) and floods the scrollback, so when it does not fit, it keeps the
   * running and failed steps first, then the progress and log lines of running steps, then the other
   * steps in order, and counts the rest in "… N more".
   */
  const render = (height = Number.POSITIVE_INFINITY): string[] => {
    const ordered = stages.flatMap((stage) => [...steps.values()].filter((step) => step.stage === stage));
    const drawn = new Map(ordered.map((step) => [step, stepLines(step)]));
    const stageCount = new Set(ordered.map((step) => step.stage)).size;
    const extras = [...drawn.values()].reduce((n, d) => n + d.extra.length, 0);
    // Each shown step, with how many of its progress and log lines are shown.
    const shown = new Map<StepView, number>();
    if (1 + stageCount + ordered.length + extras <= height) {
      for (const step of ordered) shown.set(step, drawn.get(step)!.extra.length);
    } else {
      const stagesShown = new Set<string>();
      // The title and the "… N more" line are always there.
      let used = 2;
      const addHead = (step: StepView) => {
        const cost = 1 + (stagesShown.has(step.stage) ? 0 : 1);
        if (used + cost > height) return;
        used += cost;
        stagesShown.add(step.stage);
        shown.set(step, 0);
      };
      const urgent = (step: StepView) => step.status === 'running' || step.status === 'failed';
      for (const step of ordered.filter(urgent)) addHead(step);
      for (const step of ordered.filter((s) => shown.has(s))) {
        const extra = Math.min(drawn.get(step)!.extra.length, height - used);
        shown.set(step, extra);
        used += extra;
      }
      for (const step of ordered.filter((s) => !urgent(s))) addHead(step);
    }
    const lines = [clip(style.bold(title))];
    for (const stage of stages) {
      const inStage = ordered.filter((step) => step.stage === stage && shown.has(step));
      if (inStage.length === 0) continue;
      lines.push(clip(style.cyan(stage)));
      for (const step of inStage) {
        const { head, extra } = drawn.get(step)!;
        lines.push(head, ...extra.slice(0, shown.get(step)));
      }
    }
    const hidden = ordered.length - shown.size;
    if (hidden > 0) lines.push(style.dim(`  … ${hidden} more step${hidden === 1 ? '' : 's'}`));
    return lines.slice(0, Math.max(1, height));
  };

  /** Live frames fit the window (one row is left for the cursor); the last frame stays whole. */
  const draw = (last = false) => {
    const lines = render(last ? undefined : rows() - 1);
    // Move to the first line of the previous frame and overwrite it.
    let out = drawnLines > 0 ? `\x1b[${drawnLines}F` : '';
    for (const line of lines) out += `\x1b[2K${line}\n`;
    out += '\x1b[J';
    write(out);
    drawnLines = lines.length;
    frame++;
  };

  const view = (id: string): StepView | undefined => steps.get(id);

  const listener: EventListener = (event: RunEvent) => {
    switch (event.type) {
      case 'run.start':
        title = `vnfpipe: ${event.pipeline} · run ${event.runId}`;
        stages = event.stages;
        for (const step of event.steps) {
          steps.set(step.id, {
            id: step.id,
            stage: step.stage,
            status: 'pending',
            ...(step.handler ? { detail: 'on failure only' } : {}),
            tail: [],
            log: [],
            progress: new Map(),
          });
        }
        write('\x1b[?25l');
        timer = setInterval(() => draw(), 100);
        timer.unref();
        draw();
        break;
      case 'step.start': {
        const step = view(event.step);
        if (!step) break;
        step.status = 'running';
        step.startedAt ??= event.time;
        step.detail = event.attempt > 1 ? `attempt ${event.attempt}` : undefined;
        break;
      }
      case 'step.log': {
        const step = view(event.step);
        if (!step) break;
        step.log.push(event.line);
        step.tail.push(event.line);
        if (step.tail.length > TAIL_LINES) step.tail.shift();
        break;
      }
      case 'step.progress':
        view(event.step)?.progress.set(event.label, {
          current: event.current,
          total: event.total,
          unit: event.unit,
        });
        break;
      case 'step.retry': {
        const step = view(event.step);
        if (step)
          step.detail = `attempt ${event.attempt} failed, retrying in ${formatDuration(event.delayMs)}`;
        break;
      }
      case 'step.end': {
        const step = view(event.step);
        ends.push({
          step: event.step,
          status: event.status,
          error: event.error,
          reason: event.reason,
          summary: event.summary,
        });
        if (!step) break;
        step.status = event.status;
        step.durationMs = event.durationMs;
        step.detail = event.status === 'failed' ? firstLine(event.error, step.id) : event.reason;
        step.error = event.error;
        break;
      }
      case 'run.end': {
        clearInterval(timer);
        draw(true);
        write('\x1b[?25h');
        // Each failed step once: its error, then the end of its log (a command's stderr), indented under it.
        for (const step of steps.values()) {
          if (step.status !== 'failed') continue;
          write(`${style.red(`${STATUS_ICON.failed} ${step.id} failed`)}\n`);
          for (const line of indentedError(step.error, step.id)) write(`${style.red(line)}\n`);
          if (step.log.length > 40)
            write(`${style.dim(`    │ … ${step.log.length - 40} earlier lines in the journal`)}\n`);
          for (const line of step.log.slice(-40)) write(`${style.dim(`    │ ${line}`)}\n`);
        }
        for (const line of summaryLines(event, ends, style)) write(`${line}\n`);
        break;
      }
    }
  };

  return {
    listener,
    close() {
      clearInterval(timer);
      write('\x1b[?25h');
    },
  };
}
