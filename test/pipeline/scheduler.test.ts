import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { definePipeline } from '../../src/pipeline/define.js';
import type { RunEvent } from '../../src/pipeline/events.js';
import { exec } from '../../src/pipeline/exec.js';
import { runPipeline } from '../../src/pipeline/scheduler.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'vnfpipe-sched-'));
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

/**
 * Two independent steps that log when they start and end. With `meet`, each waits until both have started:
 * that can only finish when they run at the same time (a serial run would wait for ever, and time out).
 */
function pairPipeline(meet: boolean) {
  const log: string[] = [];
  let bothStarted: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    bothStarted = resolve;
  });
  const step = (id: string) => async () => {
    log.push(`start ${id}`);
    if (log.filter((l) => l.startsWith('start')).length === 2) bothStarted();
    if (meet) await started;
    else await new Promise<void>((resolve) => setImmediate(resolve));
    log.push(`end ${id}`);
    return { id };
  };
  const pipeline = definePipeline('par', (p) => {
    p.step('left', step('left'), { timeout: '20s' });
    p.step('right', step('right'), { timeout: '20s' });
  });
  return { pipeline, log };
}

describe('runPipeline', () => {
  it('runs independent steps at the same time with concurrency 2', async () => {
    const { pipeline, log } = pairPipeline(true);
    const result = await runPipeline(pipeline, { cwd: tempDir(), concurrency: 2 });
    expect(result.status).toBe('ok');
    expect(log.slice(0, 2).sort()).toEqual(['start left', 'start right']);
  });

  it('runs them one after the other with concurrency 1', async () => {
    const { pipeline, log } = pairPipeline(false);
    const result = await runPipeline(pipeline, { cwd: tempDir(), concurrency: 1 });
    expect(result.status).toBe('ok');
    // Each step ends before the other starts, whichever goes first.
    expect(log.map((l) => l.split(' ')[0])).toEqual(['start', 'end', 'start', 'end']);
    expect(log[0]!.split(' ')[1]).toBe(log[1]!.split(' ')[1]);
  });

  it('retries with a doubling delay, then fails the run and skips dependents', async () => {
    let attempts = 0;
    const events: RunEvent[] = [];
    const pipeline = definePipeline('retry', (p) => {
      const flaky = p.step(
        'flaky',
        async () => {
          attempts++;
          throw new Error('boom');
        },
        { retries: 2, retryDelay: '40ms' },
      );
      p.step('after', async () => 1, { needs: [flaky] });
    });
    const result = await runPipeline(pipeline, { cwd: tempDir(), onEvent: (e) => events.push(e) });
    expect(result.status).toBe('failed');
    expect(result.exitCode).toBe(1);
    expect(attempts).toBe(3);
    // The delays the scheduler waited, as it recorded them: doubling from retryDelay.
    expect(
      events.filter((e) => e.type === 'step.retry').map((e) => (e as { delayMs: number }).delayMs),
    ).toEqual([40, 80]);
    expect(result.steps.after).toMatchObject({ status: 'skipped', reason: "skipped because 'flaky' failed" });
    expect(result.steps.flaky).toMatchObject({
      status: 'failed',
      attempts: 3,
      error: expect.stringMatching(/^test\/pipeline\/scheduler\.test\.ts:\d+:\d+: boom$/),
    });
  });

  it('times out a step and aborts its signal', async () => {
    let aborted = false;
    const pipeline = definePipeline('slow', (p) => {
      p.step(
        'slow',
        async (ctx) => {
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
          });
          await sleep(5000, ctx.signal);
        },
        { timeout: '100ms' },
      );
    });
    const result = await runPipeline(pipeline, { cwd: tempDir() });
    expect(result.steps.slow).toMatchObject({ status: 'failed' });
    expect(result.steps.slow?.error).toContain('timed out after 100ms');
    expect(aborted).toBe(true);
  });

  it('skips a step whose when condition is false, and runs onFailure handlers only on failure', async () => {
    const ran: string[] = [];
    const pipeline = definePipeline('handlers', (p) => {
      const deploy = p.step('deploy', async () => ({ revision: 2 }), { stage: 'deploy' });
      const rollback = p.step(
        'rollback',
        async (ctx) => {
          ran.push(`rollback after ${ctx.failure?.step}: ${ctx.failure?.error}`);
          return { to: ctx.output(deploy.out.revision) - 1 };
        },
        { stage: 'rollback', needs: [deploy] },
      );
      p.step(
        'verify',
        async () => {
          throw new Error('probe udp:5000 got no answer');
        },
        { stage: 'verify', needs: [deploy], onFailure: rollback },
      );
      p.step('never', async () => ran.push('never'), { when: () => false });
      p.step('unused-handler', async () => ran.push('unused'), { stage: 'rollback' });
      p.step('fine', async () => 'ok', { onFailure: 'unused-handler' });
    });
    const result = await runPipeline(pipeline, { cwd: tempDir() });
    expect(ran).toEqual([
      expect.stringMatching(/^rollback after verify: \S+:\d+:\d+: probe udp:5000 got no answer$/),
    ]);
    expect(result.status).toBe('failed');
    expect(result.outputs.rollback).toEqual({ to: 1 });
    expect(result.steps.never).toMatchObject({ status: 'skipped', reason: 'its when condition is false' });
    expect(result.steps['unused-handler']?.status).toBe('skipped');
  });

  it('cancels on abort: running steps see the signal, waiting steps never start, cleanups run', async () => {
    const dir = tempDir();
    const controller = new AbortController();
    const pipeline = definePipeline('cancel', (p) => {
      const long = p.step('long', async (ctx) => {
        ctx.onCleanup(() => writeFileSync(join(dir, 'cleaned'), 'yes'));
        setTimeout(() => controller.abort(new Error('interrupted')), 50);
        await sleep(5000, ctx.signal);
      });
      p.step('next', async () => writeFileSync(join(dir, 'next-ran'), 'yes'), { needs: [long] });
    });
    const result = await runPipeline(pipeline, { cwd: dir, signal: controller.signal });
    expect(result.status).toBe('cancelled');
    expect(result.exitCode).toBe(130);
    expect(readFileSync(join(dir, 'cleaned'), 'utf8')).toBe('yes');
    expect(result.steps.next?.status).toBe('cancelled');
    expect(() => readFileSync(join(dir, 'next-ran'))).toThrow();
  });

  it('refuses an output that cannot travel as JSON', async () => {
    const pipeline = definePipeline('json', (p) => {
      p.step('big', async () => ({ n: 10n }));
    });
    const result = await runPipeline(pipeline, { cwd: tempDir() });
    expect(result.steps.big?.error).toContain("the output of step 'big' cannot be stored as JSON");
  });

  it('streams exec output into the step log and journal', async () => {
    const dir = tempDir();
    const pipeline = definePipeline('exec', (p) => {
      p.step(
        'hello',
        exec({ run: 'echo out-line; echo err-line >&2; printf x > made.txt', outputs: ['made.txt'] }),
      );
      p.step('fails', exec({ run: ['sh', '-c', 'echo why >&2; exit 3'] }));
    });
    const result = await runPipeline(pipeline, { cwd: dir });
    const log = readFileSync(join(result.journal, 'steps', 'hello.log'), 'utf8');
    expect(log).toContain('[stdout] out-line');
    expect(log).toContain('[stderr] err-line');
    expect(result.outputs.hello).toMatchObject({ exitCode: 0, files: [{ path: 'made.txt', size: 1 }] });
    expect(result.steps.fails?.error).toContain('command exited with code 3');
    expect(result.steps.fails?.error).toContain('why');
  });
});

describe('stage selection and onFailure handlers', () => {
  const build = (ran: string[], verifyFails: boolean) =>
    definePipeline('staged-handlers', (p) => {
      const deploy = p.step('deploy', async () => ({ revision: 1 }), { stage: 'deploy' });
      const back = p.step('rollback', async () => ran.push('rollback'), {
        stage: 'rollback',
        needs: [deploy],
      });
      p.step(
        'verify',
        async () => {
          ran.push('verify');
          if (verifyFails) throw new Error('probe failed');
        },
        { stage: 'verify', needs: [deploy], onFailure: back },
      );
    });

  it('--stage verify runs the handler only when verify fails', async () => {
    const dir = tempDir();
    await runPipeline(build([], false), { cwd: dir, stages: ['deploy'] });
    const passing: string[] = [];
    const ok = await runPipeline(build(passing, false), { cwd: dir, stages: ['verify'] });
    expect(ok.status).toBe('ok');
    expect(passing).toEqual(['verify']);
    const failing: string[] = [];
    const failed = await runPipeline(build(failing, true), { cwd: dir, stages: ['verify'] });
    expect(failed.status).toBe('failed');
    expect(failing).toEqual(['verify', 'rollback']);
  });

  it('--stage rollback runs the handler on request, with outputs borrowed from earlier runs', async () => {
    const dir = tempDir();
    await runPipeline(build([], false), { cwd: dir, stages: ['deploy'] });
    const ran: string[] = [];
    const result = await runPipeline(build(ran, false), { cwd: dir, stages: ['rollback'] });
    expect(result.status).toBe('ok');
    expect(ran).toEqual(['rollback']);
  });
});
