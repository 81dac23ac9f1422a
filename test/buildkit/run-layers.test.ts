/** `image.run` layers compiled to LLB and built on the engine's BuildKit over an image of our layout. */
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { OpSchema } from '../../src/buildkit/gen/github.com/moby/buildkit/solver/pb/ops_pb.js';
import { compileRuns } from '../../src/buildkit/llb.js';
import { buildRunLayers } from '../../src/buildkit/run-layers.js';
import { OciLayout } from '../../src/oci/layout.js';
import { BASE_REF } from '../support/base-image.js';
import { busyboxLayout } from '../support/engine-images.js';

describe('LLB for run layers', () => {
  it('marks secret and cache mounts with unset (-1) inputs and outputs, and chains ops by digest', () => {
    const def = compileRuns(
      { ref: 'docker.io/x/y:z', env: ['PATH=/bin'], platform: { os: 'linux', architecture: 'amd64' } },
      [
        {
          command: 'true',
          mounts: [
            { type: 'secret', id: 's' },
            { type: 'cache', target: '/c' },
          ],
        },
      ],
    );
    expect(def.def).toHaveLength(3);
    const exec = fromBinary(OpSchema, def.def[1]!);
    const last = fromBinary(OpSchema, def.def[2]!);
    if (exec.op.case !== 'exec') throw new Error('second op is not an exec');
    expect(exec.op.value.meta?.args).toEqual(['/bin/sh', '-c', 'true']);
    expect(exec.op.value.mounts.map((m) => [m.dest, m.input, m.output])).toEqual([
      ['/', 0n, 0n],
      ['/run/secrets/s', -1n, -1n],
      ['/c', -1n, -1n],
    ]);
    const digest = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    expect(exec.inputs[0]?.digest).toBe(digest(def.def[0]!));
    expect(last.inputs[0]?.digest).toBe(digest(def.def[1]!));
    expect(last.op.case).toBeUndefined();
  });
});

describe('run layers on BuildKit', () => {
  it('adds RUN outputs over a layout image, keeps its config and uses secrets and cache mounts', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'vnfpipe-bk-run-')), 'oci');
    cpSync(busyboxLayout(), dir, { recursive: true });
    const lines: string[] = [];
    const nonce = randomUUID();
    const descriptor = await buildRunLayers({
      layout: dir,
      base: BASE_REF,
      runs: [
        // A fresh word per run, so BuildKit's cache does not answer instead of running it.
        { command: `echo built-by-run > /run-made.txt && echo visible-output-${nonce}` },
        {
          command:
            'test "$(cat /run/secrets/tok)" = "s3cr3t-value" && echo ok > /secret-ok && date > /cache/x',
          mounts: [
            { type: 'secret', id: 'tok' },
            { type: 'cache', target: '/cache' },
          ],
        },
      ],
      secrets: { tok: 's3cr3t-value' },
      listener: { onLog: (l) => lines.push(l.line) },
    });
    expect(lines).toContain(`visible-output-${nonce}`);
    const layout = await OciLayout.open(dir);
    await layout.tag('ran', descriptor);
    const base = await layout.readConfig((await layout.readManifest(await layout.resolve(BASE_REF))).config);
    const config = await layout.readConfig((await layout.readManifest(descriptor)).config);
    expect(config.config).toEqual(base.config);
    expect(config.rootfs.diff_ids.slice(0, base.rootfs.diff_ids.length)).toEqual(base.rootfs.diff_ids);
    expect(config.rootfs.diff_ids).toHaveLength(base.rootfs.diff_ids.length + 2);
    expect(config.history?.at(-1)?.created_by).toContain('RUN test');

    const bundle = join(mkdtempSync(join(tmpdir(), 'vnfpipe-bk-run-unpack-')), 'b');
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${dir}:ran`, bundle], { stdio: 'ignore' });
    expect(readFileSync(join(bundle, 'rootfs', 'run-made.txt'), 'utf8')).toBe('built-by-run\n');
    expect(readFileSync(join(bundle, 'rootfs', 'secret-ok'), 'utf8')).toBe('ok\n');
    // Cache mounts are not part of the image.
    expect(() => readFileSync(join(bundle, 'rootfs', 'cache', 'x'))).toThrow();
  });
});

describe('the native builder and run layers', () => {
  it('refuses a run layer and points to BuildKit', async () => {
    const { buildImage } = await import('../../src/image/builder.js');
    const { image } = await import('../../src/image/step.js');
    const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-bk-native-'));
    await expect(
      buildImage({ context: dir, layout: join(dir, 'oci'), name: 'x', layers: [image.run('true')] }),
    ).rejects.toMatchObject({ code: 'USAGE', hint: expect.stringContaining('BuildKit') });
  });
});
