import { describe, expect, it, vi } from 'vitest';
import type { RunEvent } from '../../src/pipeline/events.js';
import { jsonRenderer } from '../../src/ui/json.js';
import { plainRenderer } from '../../src/ui/plain.js';
import { createStyle, wantsColor } from '../../src/ui/style.js';
import { ttyRenderer } from '../../src/ui/tty.js';

const t = 1_800_000_000_000;
const events: RunEvent[] = [
  {
    type: 'run.start',
    time: t,
    runId: 'r1',
    pipeline: 'demo',
    stages: ['build', 'push'],
    steps: [
      { id: 'compile', kind: 'exec', stage: 'build', needs: [], handler: false },
      { id: 'upload', kind: 'push', stage: 'push', needs: ['compile'], handler: false },
    ],
  },
  { type: 'step.start', time: t + 1, step: 'compile', attempt: 1 },
  { type: 'step.log', time: t + 2, step: 'compile', stream: 'stdout', line: 'gcc ok' },
  { type: 'step.log', time: t + 2, step: 'compile', stream: 'stdout', line: '::set-output name=x::y' },
  { type: 'step.end', time: t + 3, step: 'compile', status: 'ok', durationMs: 1200, attempts: 1 },
  { type: 'step.start', time: t + 4, step: 'upload', attempt: 1 },
  {
    type: 'step.progress',
    time: t + 5,
    step: 'upload',
    label: 'layer b',
    current: 512,
    total: 1024,
    unit: 'bytes',
  },
  {
    type: 'step.end',
    time: t + 6,
    step: 'upload',
    status: 'failed',
    durationMs: 50,
    attempts: 1,
    error: 'registry said no',
  },
  {
    type: 'run.end',
    time: t + 7,
    runId: 'r1',
    status: 'failed',
    durationMs: 1300,
    journal: '/x/.vnfpipe/runs/r1',
  },
];

function render(
  make: (write: (s: string) => void) => { listener: (e: RunEvent) => void; close(): void },
): string {
  let out = '';
  const renderer = make((s) => {
    out += s;
  });
  for (const event of events) renderer.listener(event);
  renderer.close();
  return out;
}

describe('renderers', () => {
  it('json writes one parseable event per line', () => {
    const lines = render(jsonRenderer).trim().split('\n');
    expect(lines.map((line) => JSON.parse(line).type)).toEqual(events.map((e) => e.type));
  });

  it('GitHub Actions: one ::group:: per step, an ::error for failures, no command injection from logs', () => {
    const out = render((w) => plainRenderer(w, createStyle(false), 'github'));
    expect(out).toContain('::group::✔ compile ok (1.2s)\ngcc ok\n ::set-output name=x::y\n::endgroup::');
    expect(out).toContain('::error title=vnfpipe step upload::registry said no');
    expect(out).toContain('layer b: 512 B/1.0 KiB');
    expect(out).toContain('✖ run failed in 1.3s (1 ok, 1 failed)');
  });

  it('GitLab CI: collapsible sections named after the step', () => {
    const out = render((w) => plainRenderer(w, createStyle(false), 'gitlab'));
    expect(out).toContain(
      `\x1b[0Ksection_start:${Math.floor((t + 3) / 1000)}:vnfpipe_compile[collapsed=true]\r\x1b[0K✔ compile ok`,
    );
    expect(out).toContain(`\x1b[0Ksection_end:${Math.floor((t + 3) / 1000)}:vnfpipe_compile\r\x1b[0K`);
    // A failed step's section stays open.
    expect(out).toMatch(/section_start:\d+:vnfpipe_upload\r/);
  });

  it('plain output streams prefixed lines and has no colour codes with NO_COLOR', () => {
    expect(wantsColor({ NO_COLOR: '1' }, true)).toBe(false);
    const out = render((w) => plainRenderer(w, createStyle(false), 'none'));
    expect(out).toContain('[compile] gcc ok');
    expect(out).toContain('  registry said no');
    expect(out).not.toContain('\x1b[');
  });

  it('tty draws a tree by stage and a progress bar, and restores the cursor', () => {
    vi.useFakeTimers();
    try {
      let out = '';
      const renderer = ttyRenderer(
        (s) => (out += s),
        createStyle(false),
        () => 100,
      );
      for (const event of events.slice(0, 7)) renderer.listener(event);
      vi.advanceTimersByTime(150);
      expect(out).toMatch(/\[█{10}░{10}\] 50% 512 B\/1\.0 KiB layer b/);
      for (const event of events.slice(7)) renderer.listener(event);
      expect(out).toContain('build\n');
      expect(out).toContain('  ✔ compile 1.2s');
      expect(out).toContain('✖ upload 50ms — registry said no');
      expect(out.lastIndexOf('\x1b[?25h')).toBeGreaterThan(out.lastIndexOf('\x1b[?25l'));
      expect(out).toContain('✖ run failed in 1.3s');
    } finally {
      vi.useRealTimers();
    }
  });
});
