/** A failed command's stderr is shown once, under the failed step, by every renderer. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { definePipeline } from '../../src/pipeline/define.js';
import type { RunEvent } from '../../src/pipeline/events.js';
import { exec } from '../../src/pipeline/exec.js';
import { runPipeline } from '../../src/pipeline/scheduler.js';
import { jsonRenderer } from '../../src/ui/json.js';
import { type CiFlavour, plainRenderer } from '../../src/ui/plain.js';
import { createStyle } from '../../src/ui/style.js';
import { ttyRenderer } from '../../src/ui/tty.js';

// Printed by printf from parts, so the command line itself does not hold them.
const MARKERS = ['disk quota exceeded on /build', 'make: *** [all] Error 1'];
let events: RunEvent[] = [];

beforeAll(async () => {
  const pipeline = definePipeline('fails', (p) => {
    p.step('ok-first', exec({ run: 'echo fine' }));
    p.step(
      'compile',
      exec({
        run: "echo compiling; printf '%s quota %s\\n' disk 'exceeded on /build' >&2; printf '%s: %s\\n' make '*** [all] Error 1' >&2; exit 2",
      }),
    );
  });
  const result = await runPipeline(pipeline, {
    cwd: mkdtempSync(join(tmpdir(), 'vnfpipe-fail-')),
    env: { PATH: process.env.PATH },
    onEvent: (event) => events.push(event),
  });
  expect(result.status).toBe('failed');
  events = events.map((event) => ({ ...event }));
});

function render(make: (write: (text: string) => void) => { listener: (e: RunEvent) => void; close(): void }) {
  let out = '';
  const renderer = make((text) => {
    out += text;
  });
  for (const event of events) renderer.listener(event);
  renderer.close();
  return out;
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

/** The marker shows once, on a line indented below the failed step's own line. */
function expectOnceUnderStep(out: string, stepLine: RegExp, indented = true) {
  const lines = out.split('\n');
  const header = lines.findIndex((line) => stepLine.test(line));
  expect(header, out).toBeGreaterThanOrEqual(0);
  for (const marker of MARKERS) {
    expect(count(out, marker), out).toBe(1);
    const at = lines.findIndex((line) => line.includes(marker));
    expect(at, out).toBeGreaterThan(header);
    if (indented) expect(lines[at], out).toMatch(/^\s+/);
  }
}

describe('a failed command on screen', () => {
  it('the error names the command and exit code, without a copy of stderr', () => {
    const end = events.find((e) => e.type === 'step.end' && e.step === 'compile');
    expect(end).toMatchObject({ status: 'failed', error: expect.stringContaining('exited with code 2') });
    for (const marker of MARKERS) expect((end as { error: string }).error).not.toContain(marker);
  });

  it('tty: once, indented under the failed step', () => {
    const out = render((w) => ttyRenderer(w, createStyle(false), () => 120));
    // The live frames are redrawn; what stays is the last frame, then the failure section.
    const after = out.slice(out.lastIndexOf('\x1b[J'));
    expect(count(out, MARKERS[0]!)).toBe(1);
    expectOnceUnderStep(after, /✖ compile failed/);
    expect(after).toMatch(/^ {2}compile: command exited with code 2: .*$/m);
  });

  it.each(['none', 'gitlab'] as CiFlavour[])('plain (%s): once, under the failed step', (flavour) => {
    const out = render((w) => plainRenderer(w, createStyle(false), flavour));
    for (const marker of MARKERS) expect(count(out, marker), out).toBe(1);
    if (flavour === 'gitlab') expectOnceUnderStep(out, /section_start:[\s\S]*✖ compile failed/, false);
    else for (const marker of MARKERS) expect(out).toContain(`[compile] ${marker}`);
    expect(count(out, 'exited with code 2')).toBe(2);
    expect(out).toMatch(/^ {4}command exited with code 2: /m);
  });

  it('plain (github): once in the step group; the annotation carries the tail', () => {
    const out = render((w) => plainRenderer(w, createStyle(false), 'github'));
    const logLines = out
      .split('\n')
      .filter((line) => !line.startsWith('::error'))
      .join('\n');
    for (const marker of MARKERS) expect(count(logLines, marker), out).toBe(1);
    expect(out).toMatch(
      /::error title=vnfpipe step compile::step compile: command exited with code 2.*%0Adisk quota exceeded/,
    );
  });

  it('json: once, as a stderr log event', () => {
    const out = render(jsonRenderer);
    for (const marker of MARKERS) expect(count(out, JSON.stringify(marker).slice(1, -1))).toBe(1);
    const logs = out
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .filter((e) => e.type === 'step.log' && e.stream === 'stderr');
    expect(logs.map((e) => e.line)).toEqual(MARKERS);
  });
});
