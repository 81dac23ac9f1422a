/** Waiting for a condition the test cannot be told about (a file appearing, a process ending). */
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Resolves once `check` returns true; rejects with `what` if it never does within `timeoutMs`. The timeout
 * only bounds a hung test: nothing is asserted about how long the wait took.
 */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}
