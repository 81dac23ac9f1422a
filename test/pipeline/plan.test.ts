import { describe, expect, it } from 'vitest';
import { VnfpipeError } from '../../src/errors.js';
import { definePipeline } from '../../src/pipeline/define.js';
import { exec } from '../../src/pipeline/exec.js';
import { planPipeline } from '../../src/pipeline/plan.js';

const noop = async () => ({ value: 1 });

function planError(build: Parameters<typeof definePipeline>[1]): VnfpipeError {
  try {
    planPipeline(definePipeline('t', build));
  } catch (error) {
    expect(error).toBeInstanceOf(VnfpipeError);
    return error as VnfpipeError;
  }
  throw new Error('expected the plan to be rejected');
}

describe('planPipeline', () => {
  it('orders steps by their dependencies and stages by delivery order', () => {
    const plan = planPipeline(
      definePipeline('t', (p) => {
        const v = p.step('verify-it', noop, { stage: 'verify', needs: ['deploy-it'] });
        p.step('deploy-it', noop, { stage: 'deploy', needs: ['build-it'] });
        p.step('build-it', noop);
        p.step('report', noop, { stage: 'report', needs: [v] });
      }),
    );
    expect(plan.steps.map((s) => s.id)).toEqual(['build-it', 'deploy-it', 'verify-it', 'report']);
    expect(plan.stages).toEqual(['build', 'deploy', 'verify', 'report']);
  });

  it('derives dependencies from output references', () => {
    const plan = planPipeline(
      definePipeline('t', (p) => {
        const a = p.step('a', exec({ run: 'true' }));
        p.step('b', exec({ run: 'true', env: { CODE: a.out.exitCode as never } }));
      }),
    );
    expect(plan.steps.find((s) => s.id === 'b')?.needs).toEqual(['a']);
  });

  it('names the cycle path', () => {
    const error = planError((p) => {
      p.step('a', noop, { needs: ['c'] });
      p.step('b', noop, { needs: ['a'] });
      p.step('c', noop, { needs: ['b'] });
    });
    expect(error.code).toBe('PIPELINE_INVALID');
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(/dependency cycle: (a → b → c → a|b → c → a → b|c → a → b → c)/);
  });

  it('reports duplicate ids, unknown dependencies and bad options together, each with its step', () => {
    const error = planError((p) => {
      p.step('a', noop);
      p.step('a', noop);
      p.step('b', noop, { needs: ['nope'], retries: -1, timeout: 'soon' as never });
      p.step('c', exec({ run: '' }));
    });
    expect(error.message).toContain("step 'a'");
    expect(error.message).toContain('duplicate step id');
    expect(error.message).toContain("needs 'nope', but there is no such step");
    expect(error.message).toContain('retries must be a whole number');
    expect(error.message).toContain("'soon' is not a duration");
    expect(error.message).toContain("exec: 'run' must be a command line");
    // Declaration sites point into this file.
    expect(error.message).toMatch(/plan\.test\.ts:\d+:\d+/);
  });

  it('refuses a normal step that depends on an onFailure handler', () => {
    const error = planError((p) => {
      const rollback = p.step('rollback', noop, { stage: 'rollback' });
      p.step('verify', noop, { onFailure: rollback });
      p.step('after', noop, { needs: [rollback] });
    });
    expect(error.message).toContain("needs 'rollback', which runs only when another step fails");
  });

  it('refuses stages that depend on each other', () => {
    const error = planError((p) => {
      const a = p.step('a', noop, { stage: 'one' });
      const b = p.step('b', noop, { stage: 'two', needs: [a] });
      p.step('c', noop, { stage: 'one', needs: [b] });
    });
    expect(error.message).toMatch(/stages depend on each other: (one → two → one|two → one → two)/);
  });
});

describe('step option shapes', () => {
  it('refuses needs, onFailure, inputs, stage and when of the wrong shape, naming the step', () => {
    const error = planError((p) => {
      const a = p.step('a', noop);
      p.step('b', noop, { needs: a as never });
      p.step('c', noop, { inputs: 'src/**' as never, stage: 5 as never });
      p.step('d', noop, { onFailure: 7 as never, when: 'yes' as never });
    });
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain("step 'b'");
    expect(error.message).toContain('needs must be a list of steps');
    expect(error.message).toContain("inputs must be a list of globs, e.g. inputs: ['src/**']");
    expect(error.message).toContain('stage must be a name');
    expect(error.message).toContain('onFailure must be a step');
    expect(error.message).toContain('when must be a boolean or a function');
  });
});
