/**
 * The one event stream of a run. Renderers (TTY, plain CI logs, NDJSON) and the journal consume it;
 * secrets are masked before any listener sees an event.
 */
import type { LogStream } from './model.js';
import type { Masker } from './secret.js';

export type StepStatus = 'ok' | 'failed' | 'cached' | 'skipped' | 'cancelled';
export type RunStatus = 'ok' | 'failed' | 'cancelled';

export type RunEvent =
  | {
      type: 'run.start';
      time: number;
      runId: string;
      pipeline: string;
      stages: string[];
      steps: Array<{ id: string; kind: string; stage: string; needs: string[]; handler: boolean }>;
    }
  | { type: 'step.start'; time: number; step: string; attempt: number }
  | { type: 'step.log'; time: number; step: string; stream: LogStream; line: string }
  | {
      type: 'step.progress';
      time: number;
      step: string;
      label: string;
      current: number;
      total?: number;
      unit: 'bytes' | 'items';
    }
  | { type: 'step.retry'; time: number; step: string; attempt: number; delayMs: number; error: string }
  | {
      type: 'step.end';
      time: number;
      step: string;
      status: StepStatus;
      durationMs: number;
      attempts: number;
      reason?: string;
      error?: string;
      /** The `summary` string of the step's output (what a deploy, verify or rollback did), for people. */
      summary?: string;
    }
  | { type: 'run.end'; time: number; runId: string; status: RunStatus; durationMs: number; journal: string };

export type EventListener = (event: RunEvent) => void;

/** Distributes events to listeners after masking secrets in every string field. */
export class EventBus {
  private readonly listeners: EventListener[] = [];

  constructor(private readonly masker: Masker) {}

  on(listener: EventListener): void {
    this.listeners.push(listener);
  }

  emit(event: RunEvent): void {
    const masked = this.masker.maskDeep(event);
    for (const listener of this.listeners) listener(masked);
  }
}
