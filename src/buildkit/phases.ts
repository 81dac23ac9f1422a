/** Wall-clock time per phase of a build, so a profile shows where the milliseconds go. */
export type PhaseTimings = Record<string, number>;

export class PhaseTimer {
  private last = performance.now();
  readonly all: PhaseTimings = {};

  /** Closes the phase that began when the previous one ended. */
  end(name: string): void {
    const now = performance.now();
    this.all[name] = (this.all[name] ?? 0) + (now - this.last);
    this.last = now;
  }
}
