import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciLayout } from '../../src/oci/layout.js';
import { hostPlatform } from '../../src/oci/platform.js';
import { parseReference } from '../../src/oci/reference.js';
import { definePipeline } from '../../src/pipeline/define.js';
import type { RunEvent } from '../../src/pipeline/events.js';
import { runPipeline } from '../../src/pipeline/scheduler.js';
import { secret } from '../../src/pipeline/secret.js';
import { createRegistryBaseResolver, fetchImageToLayout } from '../../src/registry/base.js';
import { RegistryClient } from '../../src/registry/client.js';
import { copyImage } from '../../src/registry/copy.js';
import { type PushedImage, push } from '../../src/registry/step.js';
import { layoutDigest, makeBaseLayout } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { startTokenRegistry, type TokenRegistry } from '../support/registry-auth.js';

describe('the push step and registry bases', () => {
  let registry: TestRegistry;
  let tmp: string;
  let layout: string;
  let digest: string;
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'vnfpipe-reg-step-'));
    registry = await startRegistry();
    layout = makeBaseLayout(join(tmp, 'base'));
    digest = layoutDigest(layout, 'latest');
  });
  afterAll(async () => {
    await registry?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('pushes a built image with its tags and reports byte progress', async () => {
    const events: RunEvent[] = [];
    const pipeline = definePipeline('push-test', (p) => {
      const built = p.step('build', async () => ({ ref: `oci:${layout}:latest`, digest, layout }));
      p.step('push', push({ image: built.out, to: `${registry.host}/step/app:1`, tags: ['stable'] }));
    });
    const result = await runPipeline(pipeline, { cwd: tmp, concurrency: 2, onEvent: (e) => events.push(e) });
    expect(result.status).toBe('ok');
    const out = result.outputs.push as PushedImage;
    expect(out).toEqual({
      ref: `${registry.host}/step/app:1@${digest}`,
      digest,
      repository: `${registry.host}/step/app`,
      tags: ['1', 'stable'],
    });
    expect(events.some((e) => e.type === 'step.progress' && e.step === 'push')).toBe(true);
    const client = new RegistryClient(registry.host);
    try {
      expect((await client.headManifest('step/app', 'stable'))?.digest).toBe(digest);
    } finally {
      client.close();
    }
  });

  it('an image step with publishTo streams its layers, so the push step after it uploads none', async () => {
    const { image } = await import('../../src/image/step.js');
    const { writeFileSync, mkdirSync } = await import('node:fs');
    const { randomBytes } = await import('node:crypto');
    const project = join(tmp, 'publish-project');
    mkdirSync(join(project, 'data'), { recursive: true });
    writeFileSync(join(project, 'data', 'blob.bin'), randomBytes(2 * 1024 * 1024));
    const to = `${registry.host}/step/published`;
    const logs: string[] = [];
    const pipeline = definePipeline('publish-test', (p) => {
      const img = p.step(
        'image',
        image.build({ layers: [image.files({ data: '/opt/data' })], publishTo: to, cache: false }),
      );
      p.step('push', push({ image: img.out, to: `${to}:1` }));
    });
    const result = await runPipeline(pipeline, {
      cwd: project,
      onEvent: (e) => {
        if (e.type === 'step.log') logs.push(`${e.step}: ${e.line}`);
      },
    });
    expect(result.status).toBe('ok');
    const text = logs.join('\n');
    expect(text).toMatch(/image: published to .*: 1 streamed, 0 resent, 1 uploaded, 0 present, 0 failed/);
    expect(text).toMatch(/push: pushed .* \(0 uploaded, 2 present, 0 mounted\)/);
    const pulled = await copyImage(
      parseReference(`${to}:1`),
      parseReference(`oci:${join(tmp, 'published-pull')}:x`),
    );
    expect(pulled.digest).toBe((result.outputs.push as PushedImage).digest);
  });

  it('rejects invalid options at plan time', () => {
    expect(() =>
      push({ image: { ref: 'x', digest: 'y' }, to: 'oci:foo' }).validate?.({
        image: { ref: 'x', digest: 'y' },
        to: 'oci:foo',
      }),
    ).toThrow(/'to'/);
  });

  it('resolves a registry image as a build base into a layout, and fetches images to layouts', async () => {
    await copyImage(
      parseReference(`oci:${layout}:latest`),
      parseReference(`${registry.host}/bases/busybox:1`),
    );
    const target = await OciLayout.openOrCreate(join(tmp, 'build-layout'));
    const resolver = createRegistryBaseResolver();
    expect(resolver.accepts(`${registry.host}/bases/busybox:1`)).toBe(true);
    expect(resolver.accepts('oci:foo:bar')).toBe(false);
    expect(resolver.accepts('scratch')).toBe(false);
    const base = await resolver.resolve(`${registry.host}/bases/busybox:1`, hostPlatform(), target, {
      cwd: tmp,
    });
    expect(base.digest).toBe(digest);
    expect(base.config?.config?.Cmd).toEqual(['/bin/sh']);
    for (const layer of base.layers) expect(await target.hasBlob(layer.digest)).toBe(true);

    const fetched = await fetchImageToLayout(`${registry.host}/bases/busybox:1`, join(tmp, 'fetched'));
    expect(fetched.digest).toBe(digest);
    expect((await (await OciLayout.open(join(tmp, 'fetched'))).resolve('1')).digest).toBe(digest);
  });
});

describe('the push step with a secret against token auth', () => {
  let registry: TokenRegistry;
  let tmp: string;
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'vnfpipe-reg-step-auth-'));
    registry = await startTokenRegistry({ ci: 'ci-secret-pw' });
  });
  afterAll(async () => {
    await registry?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('takes user:password from a secret and never shows it', async () => {
    const layout = makeBaseLayout(join(tmp, 'base'));
    const digest = layoutDigest(layout, 'latest');
    const events: RunEvent[] = [];
    const pipeline = definePipeline('push-auth', (p) => {
      p.step(
        'push',
        push({
          image: { ref: `oci:${layout}:latest`, digest, layout },
          to: `${registry.host}/ci/app:1`,
          auth: secret('REG_AUTH'),
        }),
      );
    });
    const result = await runPipeline(pipeline, {
      cwd: tmp,
      env: { ...process.env, REG_AUTH: 'ci:ci-secret-pw', DOCKER_CONFIG: join(tmp, 'none') },
      onEvent: (e) => events.push(e),
    });
    expect(result.status).toBe('ok');
    expect((result.outputs.push as PushedImage).digest).toBe(digest);
    expect(JSON.stringify(events)).not.toContain('ci-secret-pw');

    const bad = await runPipeline(pipeline, {
      cwd: tmp,
      env: { ...process.env, REG_AUTH: 'ci:nope-wrong', DOCKER_CONFIG: join(tmp, 'none') },
      onEvent: (e) => events.push(e),
    });
    expect(bad.status).toBe('failed');
    const text = JSON.stringify(events);
    expect(text).toContain(`authentication failed for ${registry.host}`);
    expect(text).not.toContain('nope-wrong');
  });
});
