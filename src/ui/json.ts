/** `--json`: one event per line (NDJSON), for machines. */
import type { EventListener } from '../pipeline/events.js';

export function jsonRenderer(write: (text: string) => void): { listener: EventListener; close(): void } {
  return {
    listener: (event) => write(`${JSON.stringify(event)}\n`),
    close() {},
  };
}
