/** The live view on a small terminal: every frame fits the window, so redrawing never floods the scrollback. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RunEvent } from '../../src/pipeline/events.js';
import { createRenderer } from '../../src/ui/index.js';

const ROWS = 14;
const COLUMNS = 70;

/** A terminal of 14 rows: records each write. */
function fakeTerminal(columns = COLUMNS) {
  const writes: string[] = [];
  const stream = {
    isTTY: true,
    columns,
    rows: ROWS,
    write(chunk: string) {
      writes.push(chunk);
      return true;
    },
    on() {
      return stream;
    },
  };
  return { writes, stream: stream as unknown as NodeJS.WriteStream };
}

const stages = ['build', 'scan', 'push'];
const ids = stages.flatMap((stage) => Array.from({ length: 10 }, (_, i) => `${stage}-${i}`));

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the live view on a 70×14 terminal', () => {
  it('draws frames of at most 13 lines, moves up exactly the last frame, keeps running and failed steps', () => {
    const { writes, stream } = fakeTerminal();
    const renderer = createRenderer({ stream, env: { TERM: 'xterm' } });
    const t = Date.now();
    const emit = (event: RunEvent) => renderer.listener(event);
    emit({
      type: 'run.start',
      time: t,
      runId: 'r1',
      pipeline: 'tall',
      stages,
      steps: ids.map((id) => ({ id, kind: 'exec', stage: id.split('-')[0]!, needs: [], handler: false })),
    });
    for (const id of ids.slice(0, 12)) {
      emit({ type: 'step.start', time: t, step: id, attempt: 1 });
      emit({ type: 'step.end', time: t, step: id, status: 'ok', durationMs: 5, attempts: 1 });
    }
    vi.advanceTimersByTime(300);
    emit({ type: 'step.start', time: t, step: 'scan-4', attempt: 1 });
    emit({
      type: 'step.end',
      time: t,
      step: 'scan-4',
      status: 'failed',
      durationMs: 5,
      attempts: 1,
      error: 'CVE found',
    });
    for (const id of ['push-7', 'push-9']) {
      emit({ type: 'step.start', time: t, step: id, attempt: 1 });
      for (const n of [1, 2, 3, 4])
        emit({ type: 'step.log', time: t, step: id, stream: 'stdout', line: `${id} line ${n}` });
      emit({
        type: 'step.progress',
        time: t,
        step: id,
        label: 'layer a',
        current: 10,
        total: 100,
        unit: 'bytes',
      });
    }
    vi.advanceTimersByTime(500);

    const frames = writes.filter((chunk) => chunk.endsWith('\x1b[J'));
    expect(frames.length).toBeGreaterThan(5);
    let previous = 0;
    for (const frame of frames) {
      const lines = frame.split('\n').length - 1;
      expect(lines).toBeLessThanOrEqual(ROWS - 1);
      const up = /^\x1b\[(\d+)F/.exec(frame);
      expect(up ? Number(up[1]) : 0).toBe(previous);
      for (const line of frame.split('\n'))
        expect(line.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').length).toBeLessThan(COLUMNS);
      previous = lines;
    }
    const last = frames.at(-1)!;
    for (const id of ['push-7', 'push-9', 'scan-4']) expect(last).toContain(id);
    expect(last).toContain('CVE found');
    const visible = last.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    const shown = ids.filter((id) => new RegExp(`[✔✖⠀-⣿·] ${id}\\b`).test(visible)).length;
    expect(last).toContain(`… ${ids.length - shown} more steps`);

    // At the end the whole tree is printed once: it no longer needs to be redrawn.
    emit({ type: 'run.end', time: t, runId: 'r1', status: 'failed', durationMs: 900, journal: '/j' });
    renderer.close();
    const final = writes.find((chunk, i) => i > writes.indexOf(last) && chunk.endsWith('\x1b[J'))!;
    for (const id of ids) expect(final).toContain(id);
    expect(final).not.toContain('more steps');
  });

  it('cuts every line, the title too, to the width: a wrapped line would break the redraw', () => {
    const { writes, stream } = fakeTerminal(30);
    const renderer = createRenderer({ stream, env: { TERM: 'xterm' } });
    renderer.listener({
      type: 'run.start',
      time: Date.now(),
      runId: '20261201T000000000Z-abcdef',
      pipeline: 'a-pipeline-with-a-rather-long-name',
      stages: ['a-stage-with-a-rather-long-name'],
      steps: [
        { id: 'only', kind: 'exec', stage: 'a-stage-with-a-rather-long-name', needs: [], handler: false },
      ],
    });
    vi.advanceTimersByTime(200);
    renderer.close();
    const frames = writes.filter((chunk) => chunk.endsWith('\x1b[J'));
    expect(frames.length).toBeGreaterThan(1);
    for (const frame of frames)
      for (const line of frame.split('\n'))
        expect(line.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').length, line).toBeLessThan(30);
  });
});
