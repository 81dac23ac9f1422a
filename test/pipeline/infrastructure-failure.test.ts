/**
 * A step failure flagged as infrastructure (vnfpipe's tooling or environment, not what the step checks) does
 * not trigger the step's onFailure handlers, and the run output says why.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VnfpipeError } from '../../src/errors.js';
import { definePipeline } from '../../src/pipeline/define.js';
import type { RunEvent } from '../../src/pipeline/events.js';
import { runPipeline } from '../../src/pipeline/scheduler.js';

function pipeline(error: Error, ran: string[]) {
  return definePipeline('infra', (p) => {
    const rollback = p.step('rollback', async () => ran.push('rollback'), { stage: 'rollback' });
    p.step(
      'verify',
      async () => {
        throw error;
      },
      { stage: 'verify', onFailure: rollback },
    );
  });
}

describe('onFailure and infrastructure failures', () => {
  it('does not run the handlers, and the failed step and the handler say why', async () => {
    const ran: string[] = [];
    const events: RunEvent[] = [];
    const error = new VnfpipeError('VERIFY_INFRA', 'probe container cannot start');
    const result = await runPipeline(pipeline(error, ran), {
      cwd: mkdtempSync(join(tmpdir(), 'vnfpipe-infra-')),
      onEvent: (e) => events.push(e),
    });
    expect(ran).toEqual([]);
    expect(result.status).toBe('failed');
    expect(result.exitCode).toBe(1);
    expect(result.steps.verify).toMatchObject({
      status: 'failed',
      error: 'probe container cannot start',
      reason: "failed in vnfpipe's tooling or environment, not in what it checks: rollback not run",
    });
    expect(result.steps.rollback).toMatchObject({
      status: 'skipped',
      reason: "not run: 'verify' failed in vnfpipe's tooling or environment, not in what it checks",
    });
    expect(events.find((e) => e.type === 'step.end' && e.step === 'verify')).toMatchObject({
      reason: expect.stringContaining('rollback not run'),
    });
  });

  it('is a property of the error: any code can carry it, and without it the handlers run', async () => {
    const flagged: string[] = [];
    await runPipeline(
      pipeline(new VnfpipeError('STEP_FAILED', 'runner disk full', { infrastructure: true }), flagged),
      { cwd: mkdtempSync(join(tmpdir(), 'vnfpipe-infra-')) },
    );
    expect(flagged).toEqual([]);
    const plain: string[] = [];
    const result = await runPipeline(pipeline(new VnfpipeError('STEP_FAILED', 'probe failed'), plain), {
      cwd: mkdtempSync(join(tmpdir(), 'vnfpipe-infra-')),
    });
    expect(plain).toEqual(['rollback']);
    expect(result.steps.verify?.reason).toBeUndefined();
  });

  it('holds across CI jobs: a rollback stage run after a verify job reads how verify ended', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'vnfpipe-infra-jobs-'));
    const tooling: string[] = [];
    // The verify job fails in vnfpipe's tooling; the rollback job, run because that job failed, rolls nothing back.
    await runPipeline(pipeline(new VnfpipeError('VERIFY_INFRA', 'probe tool cannot compile'), tooling), {
      cwd,
      stages: ['verify'],
    });
    const rollbackJob = await runPipeline(pipeline(new Error('unused'), tooling), {
      cwd,
      stages: ['rollback'],
    });
    expect(tooling).toEqual([]);
    expect(rollbackJob.steps.rollback).toMatchObject({
      status: 'skipped',
      reason: "not run: 'verify' failed in vnfpipe's tooling or environment, not in what it checks",
    });

    // A verify job whose checks failed rolls back itself; the rollback job then does not roll back again.
    const cwd2 = mkdtempSync(join(tmpdir(), 'vnfpipe-infra-jobs-'));
    const checks: string[] = [];
    await runPipeline(pipeline(new VnfpipeError('STEP_FAILED', 'probe failed'), checks), {
      cwd: cwd2,
      stages: ['verify'],
    });
    expect(checks).toEqual(['rollback']);
    const second = await runPipeline(pipeline(new Error('unused'), checks), {
      cwd: cwd2,
      stages: ['rollback'],
    });
    expect(checks).toEqual(['rollback']);
    expect(second.steps.rollback?.reason).toMatch(
      /^not run: it already ran \(ok\) in run .*, where 'verify' failed$/,
    );
  });
});
