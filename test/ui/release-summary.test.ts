/** The end of a run says what the release did: each step output's `summary`, in tty and plain output. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { definePipeline } from '../../src/pipeline/define.js';
import type { RunEvent } from '../../src/pipeline/events.js';
import { runPipeline } from '../../src/pipeline/scheduler.js';
import { plainRenderer } from '../../src/ui/plain.js';
import { createStyle } from '../../src/ui/style.js';
import { ttyRenderer } from '../../src/ui/tty.js';

function release(verifyFails: boolean) {
  return definePipeline('release', (p) => {
    const deploy = p.step('deploy', async () => ({ revision: 2, summary: 'vfw revision 2 deployed' }), {
      stage: 'deploy',
    });
    const rollback = p.step(
      'rollback',
      async () => ({ summary: 'rolled back vfw from revision 2 to 1, verified' }),
      { stage: 'rollback', needs: [deploy] },
    );
    p.step(
      'verify',
      async () => {
        if (verifyFails) throw new Error('probe udp:5000 got no answer');
        return { passed: 4, summary: 'vfw revision 2 verified: 4/4 probes passed' };
      },
      { stage: 'verify', needs: [deploy], onFailure: rollback },
    );
    p.step('count', async () => ({ summary: 42 }));
  });
}

async function run(verifyFails: boolean) {
  const events: RunEvent[] = [];
  const result = await runPipeline(release(verifyFails), {
    cwd: mkdtempSync(join(tmpdir(), 'vnfpipe-summary-')),
    onEvent: (event) => events.push(event),
  });
  const render = (make: (write: (text: string) => void) => { listener: (e: RunEvent) => void }) => {
    let out = '';
    const renderer = make((text) => {
      out += text;
    });
    for (const event of events) renderer.listener(event);
    // Only what follows the run line: the closing summary.
    return out.slice(out.search(/[✔✖] run (ok|failed)/));
  };
  return {
    result,
    events,
    plain: render((w) => plainRenderer(w, createStyle(false), 'none')),
    tty: render((w) => ttyRenderer(w, createStyle(false), () => 120)),
  };
}

describe('release summary at the end of a run', () => {
  it('after success, lists what was deployed and what the probes found', async () => {
    const { result, events, plain, tty } = await run(false);
    expect(result.status).toBe('ok');
    for (const out of [plain, tty]) {
      expect(out).toContain('  deploy: vfw revision 2 deployed\n');
      expect(out).toContain('  verify: vfw revision 2 verified: 4/4 probes passed\n');
      expect(out).not.toContain('rolled back');
      // Only string summaries are shown.
      expect(out).not.toContain('count:');
    }
    const verifyEnd = events.find((e) => e.type === 'step.end' && e.step === 'verify');
    expect(verifyEnd).toMatchObject({ summary: 'vfw revision 2 verified: 4/4 probes passed' });
  });

  it('after a failed verify, says what the rollback did', async () => {
    const { result, plain, tty } = await run(true);
    expect(result.status).toBe('failed');
    for (const out of [plain, tty]) {
      expect(out).toMatch(/^✖ run failed/);
      expect(out).toContain('  rollback: rolled back vfw from revision 2 to 1, verified\n');
      expect(out).toMatch(/ {2}verify: \S+: probe udp:5000 got no answer/);
    }
  });
});
