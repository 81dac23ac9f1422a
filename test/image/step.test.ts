import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VnfpipeError } from '../../src/errors.js';
import { image } from '../../src/image/step.js';
import { OciLayout } from '../../src/oci/layout.js';
import {
  OUTPUT_REF,
  type OutputRef,
  type ProgressUpdate,
  type StepContext,
} from '../../src/pipeline/model.js';
import { TempDirs } from './support.js';

const temp = new TempDirs();
afterAll(() => temp.cleanup());

const compiled = { [OUTPUT_REF]: { step: 'compile', path: [] } } as OutputRef<unknown>;

function context(cwd: string, logs: string[], progress: ProgressUpdate[]): StepContext {
  return {
    stepId: 'img',
    runId: 'r1',
    attempt: 1,
    cwd,
    workDir: join(cwd, '.vnfpipe', 'work'),
    stateDir: join(cwd, '.vnfpipe'),
    signal: new AbortController().signal,
    env: { SOURCE_DATE_EPOCH: '1600000000' },
    log: (line) => logs.push(line),
    progress: (update) => progress.push(update),
    onCleanup: () => undefined,
    output: () => {
      throw new Error('not used');
    },
    addSecret: () => undefined,
  };
}

describe('image step', () => {
  it('describes a build step: kind, stage, cache inputs, wired layers', async () => {
    const layer = image.files(compiled, { 'out/vfw': '/usr/local/bin/vfw' }, { mode: 0o755 });
    expect(layer.after).toEqual([compiled]);
    expect(layer.mode).toBe(0o755);
    expect(image.files({ conf: '/etc/vfw' }, { exclude: ['*.bak'] })).toEqual({
      files: { conf: '/etc/vfw' },
      exclude: ['*.bak'],
    });
    const spec = image.build({
      from: 'oci:base:latest',
      layers: [
        layer,
        image.files({ conf: '/etc/vfw' }, { exclude: ['*.bak'] }),
        image.content({ '/etc/x': 'y' }),
      ],
    });
    expect([spec.kind, spec.stage]).toEqual(['build', 'build']);
    const inputs = await spec.cacheInputs?.(spec.options as never, {
      cwd: '.',
      stateDir: '.vnfpipe',
      env: {},
      secrets: true,
    });
    expect(inputs?.files).toEqual([
      'out/vfw',
      'out/vfw/**',
      'conf',
      'conf/**',
      '!conf/*.bak',
      'base/index.json',
    ]);
  });

  it('validates options with PIPELINE_INVALID naming the option', () => {
    const check = (options: object) => {
      const spec = image.build(options as never);
      try {
        spec.validate?.(spec.options);
      } catch (error) {
        expect(error).toBeInstanceOf(VnfpipeError);
        expect((error as VnfpipeError).code).toBe('PIPELINE_INVALID');
        return (error as VnfpipeError).where;
      }
      return undefined;
    };
    expect(check({ layers: 'nope' })).toBe('layers');
    expect(check({ compressionLevel: 12 })).toBe('compressionLevel');
    expect(check({ entrypoint: '/bin/sh' })).toBe('entrypoint');
    expect(check({ platform: 'amd64' })).toBe('platform');
    expect(check({ name: '../x' })).toBe('name');
    expect(check({ layers: [image.content({ '/a': 'b' })] })).toBeUndefined();
  });

  it('runs the builder into <stateDir>/oci under the step id, reporting progress and logs', async () => {
    const cwd = await temp.make();
    await mkdir(join(cwd, 'out'));
    await writeFile(join(cwd, 'out', 'vfw'), Buffer.alloc(20 * 1024 * 1024, 3));
    const logs: string[] = [];
    const progress: ProgressUpdate[] = [];
    const spec = image.build({
      layers: [image.files(compiled, { 'out/vfw': '/usr/local/bin/vfw' }, { mode: 0o755 })],
      entrypoint: ['/usr/local/bin/vfw'],
    });
    // The scheduler hands run() resolved options: here the `after` reference resolved to a value.
    const resolved = {
      ...spec.options,
      layers: spec.options.layers?.map((l) => ({ ...l, after: [{ exitCode: 0 }] })),
    };
    const out = await spec.run(context(cwd, logs, progress), resolved as never);
    // Relative to the project, so a later CI job with another checkout path can use it.
    expect(out.ref).toBe('oci:.vnfpipe/oci:img');
    expect(out.layout).toBe('.vnfpipe/oci');
    const layout = await OciLayout.open(join(cwd, out.layout));
    expect((await layout.resolve('img')).digest).toBe(out.digest);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ unit: 'bytes' });
    expect(progress.at(-1)?.current).toBe(progress.at(-1)?.total);
    expect(logs.some((l) => l.includes(out.digest))).toBe(true);
    const config = await layout.readConfig((await layout.readManifest(await layout.resolve('img'))).config);
    expect(config.created).toBe('2020-09-13T12:26:40Z'); // SOURCE_DATE_EPOCH from the step env
  });
});
