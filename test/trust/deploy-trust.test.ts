/**
 * The deploy steps' `trust` option against a real registry and the real engine: a signed image deploys (pinned
 * to the verified digest), the same image under an unsigned name is refused with the reason and nothing is
 * deployed, and a missing attestation is named.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerTarget } from '../../src/deploy/docker/target.js';
import { deploy } from '../../src/deploy/step.js';
import { buildImage } from '../../src/image/index.js';
import { definePipeline } from '../../src/pipeline/define.js';
import { runPipeline } from '../../src/pipeline/scheduler.js';
import { copyImage } from '../../src/registry/copy.js';
import { generateKeys, loadPrivateKey } from '../../src/trust/keys.js';
import { signReference } from '../../src/trust/sign.js';
import { requireDocker } from '../support/docker.js';
import { busyboxLayout, docker } from '../support/engine-images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

const suffix = randomBytes(3).toString('hex');

describe('deploy with trust', () => {
  let registry: TestRegistry;
  let dir: string;
  let digest: string;
  const names: string[] = [];

  beforeAll(async () => {
    requireDocker();
    dir = mkdtempSync(join(tmpdir(), 'vnfpipe-deploy-trust-'));
    registry = await startRegistry();
    writeFileSync(join(dir, 'marker'), randomBytes(16).toString('hex'));
    const built = await buildImage({
      context: dir,
      layout: join(dir, 'oci'),
      name: 'app',
      from: `oci:${busyboxLayout()}:latest`,
      layers: [{ files: { marker: '/marker' } }],
      cmd: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done'],
    });
    digest = built.digest;
    for (const repository of ['vnf/signed', 'vnf/unsigned']) {
      await copyImage(
        { transport: 'oci', dir: join(dir, 'oci'), ref: 'app' },
        { transport: 'registry', registry: registry.host, repository, tag: '1' },
      );
    }
    const keys = generateKeys('pw');
    writeFileSync(join(dir, 'cosign.pub'), keys.publicKeyPem);
    await signReference(`${registry.host}/vnf/signed:1`, loadPrivateKey(keys.privateKeyPem, 'pw'));
  });
  afterAll(async () => {
    for (const name of names) await new DockerTarget(join(dir, '.vnfpipe')).destroy({ name, image: 'x' });
    await registry?.stop();
  });

  function deployOf(name: string, repository: string, attestations?: string[]) {
    names.push(name);
    return definePipeline('trust', (p) => {
      p.step(
        'deploy',
        deploy.docker({
          workload: { name, image: `${registry.host}/${repository}:1` },
          trust: { key: 'cosign.pub', ...(attestations ? { attestations } : {}) },
        }),
      );
    });
  }

  const containers = (name: string) =>
    docker('ps', '-a', '--filter', `name=^${name}-r`, '--format', '{{.Names}}');

  it('deploys a signed image pinned to the digest that verified', async () => {
    const name = `vt-ok-${suffix}`;
    const logs: string[] = [];
    const result = await runPipeline(deployOf(name, 'vnf/signed'), {
      cwd: dir,
      onEvent: (e) => e.type === 'step.log' && logs.push(e.line),
    });
    expect(result.steps.deploy?.error).toBeUndefined();
    expect(logs).toContain(`verified ${registry.host}/vnf/signed@${digest}: 1 signature(s)`);
    expect(docker('inspect', '--format', '{{.Config.Image}}', `${name}-r1`)).toBe(
      `${registry.host}/vnf/signed@${digest}`,
    );
  });

  it('refuses the same image under a name nobody signed, and deploys nothing', async () => {
    const name = `vt-unsigned-${suffix}`;
    const result = await runPipeline(deployOf(name, 'vnf/unsigned'), { cwd: dir });
    expect(result.exitCode).toBe(1);
    expect(result.steps.deploy?.error).toMatch(/not signed/);
    expect(containers(name)).toBe('');
  });

  it('names a required attestation the image lacks, and deploys nothing', async () => {
    const name = `vt-unattested-${suffix}`;
    const result = await runPipeline(deployOf(name, 'vnf/signed', ['slsaprovenance']), { cwd: dir });
    expect(result.steps.deploy?.error).toMatch(/missing verified attestation.*slsa/i);
    expect(containers(name)).toBe('');
  });

  it('is refused at plan time without a key or keyless identity', async () => {
    const pipeline = definePipeline('trust-bad', (p) => {
      p.step('deploy', deploy.docker({ workload: { name: 'x', image: 'a/b:1' }, trust: {} }));
    });
    const result = await runPipeline(pipeline, { cwd: dir }).catch((e: Error) => e);
    expect(String(result)).toMatch(/'trust' names either a public key file/);
  });
});
