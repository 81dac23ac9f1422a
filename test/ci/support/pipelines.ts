/** Pipelines the emitter tests render: small, with every shape the emitters treat specially. */
import { definePipeline, exec, secret } from '../../../src/index.js';
import type { Pipeline } from '../../../src/pipeline/define.js';
import type { StepSpec } from '../../../src/pipeline/model.js';

/** A stand-in for a built-in kind whose implementation lands later (only kind and stage matter here). */
function kind(
  name: string,
  options: Record<string, unknown> = {},
): StepSpec<{ ok: true }, Record<string, unknown>> {
  return { kind: name, stage: name, options, run: async () => ({ ok: true }) };
}

export const SECRET_VALUE = 's3cr3t-value-never-in-output';

/** build → scan → push → deploy → verify, rollback on verify failure, secrets in push and verify. */
export function deliveryPipeline(): Pipeline {
  return definePipeline('vfw', (p) => {
    const compile = p.step(
      'compile',
      exec({ run: 'make', inputs: ['src/**'], outputs: ['out/vfw', 'out/**/*.so'] }),
    );
    const docs = p.step('docs', exec({ run: 'make docs', outputs: ['out/docs.tar'] }));
    const image = p.step('image', kind('build'), { needs: [compile, docs] });
    p.step('scan', kind('scan'), { needs: [image], timeout: '45m' });
    const pushed = p.step('push', kind('push', { auth: secret('REGISTRY_TOKEN') }), { needs: [image] });
    p.step('sign', kind('sign'), { stage: 'push', needs: [pushed] });
    const release = p.step('deploy', kind('deploy', { kubeconfig: secret('KUBE_CONFIG') }), {
      needs: [pushed],
    });
    const rollback = p.step('rollback', kind('rollback'), { needs: [release] });
    p.step(
      'verify',
      exec({ run: 'curl -fsS http://127.0.0.1:8080/health', env: { TOKEN: secret('HOOK_TOKEN') } }),
      {
        stage: 'verify',
        needs: [release],
        onFailure: rollback,
      },
    );
  });
}

/** One stage, one step. */
export function tinyPipeline(): Pipeline {
  return definePipeline('tiny', (p) => {
    p.step('hello', exec({ run: 'echo hello' }));
  });
}

/** Custom stage names, including ones GitHub and GitLab treat specially. */
export function oddStagesPipeline(): Pipeline {
  return definePipeline('odd', (p) => {
    const a = p.step('a', exec({ run: 'true' }), { stage: '1st.stage' });
    const b = p.step('b', exec({ run: 'true' }), { stage: 'variables', needs: [a] });
    p.step('c', exec({ run: 'true' }), { stage: 'e2e', needs: [b] });
  });
}
