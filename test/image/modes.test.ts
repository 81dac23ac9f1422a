/**
 * Host file modes: normalised by default, so a checkout's umask does not change the digest; kept on request.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../src/image/builder.js';
import { image } from '../../src/image/step.js';
import type { BuildOptions } from '../../src/image/types.js';
import { OciLayout } from '../../src/oci/layout.js';
import { listTarGz, TempDirs } from './support.js';

const temp = new TempDirs();
afterAll(() => temp.cleanup());

/** A "clone" of the same tree made under `umask`: what git checkout does to modes. */
function checkout(dir: string, umask: string): string {
  const script = [
    `umask ${umask}`,
    `mkdir -p ${dir}/pipelines/lib`,
    `printf 'rules\\n' > ${dir}/pipelines/rules.conf`,
    `printf 'x\\n' > ${dir}/pipelines/lib/helper.txt`,
    `printf '#!/bin/sh\\n' > ${dir}/pipelines/run.sh`,
    // git sets the executable bit as recorded, masked by the umask like any new file.
    `chmod +x ${dir}/pipelines/run.sh`,
  ].join('\n');
  execFileSync('sh', ['-c', script]);
  return dir;
}

async function layerModes(layoutDir: string, name: string): Promise<Record<string, number>> {
  const layout = await OciLayout.open(layoutDir);
  const manifest = await layout.readManifest(await layout.resolve(name));
  const blob = await readFile(layout.blobPath(manifest.layers[0]!.digest));
  return Object.fromEntries(listTarGz(blob).map((e) => [e.path, e.mode]));
}

async function build(context: string, extra: Partial<BuildOptions> = {}) {
  return buildImage({
    context,
    layout: join(context, 'out'),
    name: 'x',
    layers: [{ files: { pipelines: '/opt/pipelines' } }],
    ...extra,
  });
}

describe('host file modes', () => {
  it('gives the same digest under umask 022 and 077, readable by everyone', async () => {
    const open = checkout(await temp.make(), '022');
    const closed = checkout(await temp.make(), '077');
    const [a, b] = [await build(open), await build(closed)];
    expect(b.digest).toBe(a.digest);
    expect(await layerModes(join(closed, 'out'), 'x')).toEqual({
      'opt/pipelines/': 0o755,
      'opt/pipelines/lib/': 0o755,
      'opt/pipelines/lib/helper.txt': 0o644,
      'opt/pipelines/rules.conf': 0o644,
      'opt/pipelines/run.sh': 0o755,
    });
  });

  it('keeps source modes when asked (build option, layer option)', async () => {
    const closed = checkout(await temp.make(), '077');
    const expected = {
      'opt/pipelines/': 0o700,
      'opt/pipelines/lib/': 0o700,
      'opt/pipelines/lib/helper.txt': 0o600,
      'opt/pipelines/rules.conf': 0o600,
      'opt/pipelines/run.sh': 0o700,
    };
    await build(closed, { keepModes: true });
    expect(await layerModes(join(closed, 'out'), 'x')).toEqual(expected);
    await build(closed, { layers: [image.files({ pipelines: '/opt/pipelines' }, { keepModes: true })] });
    expect(await layerModes(join(closed, 'out'), 'x')).toEqual(expected);
    // An explicit mode still wins over both.
    await build(closed, {
      keepModes: true,
      layers: [{ files: { pipelines: '/opt/pipelines' }, mode: 0o640 }],
    });
    expect((await layerModes(join(closed, 'out'), 'x'))['opt/pipelines/rules.conf']).toBe(0o640);
  });
});
