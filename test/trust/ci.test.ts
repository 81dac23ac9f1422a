import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { generateCi } from '../../src/ci/generate.js';
import type { Workflow } from '../../src/ci/github/model.js';
import { definePipeline } from '../../src/pipeline/define.js';
import { planPipeline } from '../../src/pipeline/plan.js';
import { secret } from '../../src/pipeline/secret.js';
import { push } from '../../src/registry/step.js';
import { attest, sign } from '../../src/trust/step.js';

function pipeline(keyless: boolean) {
  return definePipeline('trusted', (p) => {
    const built = p.step('image', async () => ({ ref: 'oci:out:app', digest: `sha256:${'1'.repeat(64)}` }), {
      stage: 'build',
    });
    const pushed = p.step('push', push({ image: built.out, to: 'registry.example.test/vnf/app:1' }));
    const key = { key: secret('COSIGN_KEY'), password: secret('COSIGN_PASSWORD') };
    p.step(
      'sign',
      keyless ? sign({ image: pushed.out, keyless: true }) : sign({ image: pushed.out, ...key }),
      {
        stage: 'sign',
      },
    );
    p.step('attest', attest({ image: pushed.out, ...key }), { stage: 'sign' });
    p.step('deploy-ish', async () => ({}), { stage: 'deploy', needs: [pushed] });
  });
}

async function jobs(keyless: boolean) {
  const wf = parse(await generateCi('github', planPipeline(pipeline(keyless)))) as Workflow;
  return wf;
}

describe('the GitHub workflow and signing', () => {
  it('grants id-token: write to the keyless signing job only', async () => {
    const wf = await jobs(true);
    expect(wf.permissions).toEqual({ contents: 'read' });
    const withIdToken = Object.entries(wf.jobs)
      .filter(([, job]) => job.permissions?.['id-token'] === 'write')
      .map(([name]) => name);
    expect(withIdToken).toEqual(['sign']);
  });

  it('signing with a key needs no OIDC token: no job gets id-token', async () => {
    const wf = await jobs(false);
    const withIdToken = Object.values(wf.jobs).filter((job) => job.permissions?.['id-token'] !== undefined);
    expect(withIdToken).toHaveLength(0);
    expect(wf.jobs.sign?.permissions).toMatchObject({ contents: 'read', packages: 'write' });
  });
});
