/**
 * What killed builds and pulls leave: a build SIGKILLed midway, a stale lock, old pull staging folders. The
 * next build removes what belongs to dead writers (and says so), `image gc` reports and frees the rest, and a
 * live writer's files survive both. Needs `npm run build` (the killed build and the CLI run from dist/).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../src/image/builder.js';
import { OciLayout } from '../../src/oci/layout.js';
import { REPO_ROOT, runCli } from '../support/project.js';
import { TempDirs } from './support.js';

const temp = new TempDirs();
afterAll(() => temp.cleanup());

/**
 * Runs a build in a child process that freezes at its first progress report (the layer half written), then
 * SIGKILLs it. Returns the dead build's pid.
 */
async function killBuildMidway(project: string): Promise<number> {
  const builder = pathToFileURL(join(REPO_ROOT, 'dist', 'image', 'builder.js')).href;
  const script = `
    import { buildImage } from ${JSON.stringify(builder)};
    await buildImage({
      context: ${JSON.stringify(project)},
      layout: ${JSON.stringify(join(project, 'out'))},
      name: 'killed',
      compressionLevel: 9,
      layers: [{ files: { 'big.bin': '/big.bin' } }],
      onProgress: () => {
        process.stdout.write('midway\\n');
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // freeze here until killed
      },
    });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (chunk.includes('midway')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the build ended (${code}) before midway: ${stderr}`)));
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  return child.pid!;
}

async function age(path: string, hours: number): Promise<void> {
  const then = new Date(Date.now() - hours * 3600_000);
  await utimes(path, then, then);
}

describe('leftovers of killed builds and pulls', () => {
  it('are removed by the next build and by image gc, sparing live writers', async () => {
    const project = await temp.make('vnfpipe-cleanup-');
    await writeFile(join(project, 'big.bin'), randomBytes(24 * 1024 * 1024));
    await writeFile(join(project, 'small.txt'), 'one');
    const out = join(project, 'out');

    const dead = await killBuildMidway(project);
    const tmp = join(out, '.tmp');
    const leftovers = (await readdir(tmp)).filter((name) => name.includes(`-${dead}-`));
    expect(leftovers.some((name) => name.startsWith('layer-'))).toBe(true);

    // As a kill while index.json was being updated leaves it: the lock names the dead process.
    await writeFile(join(out, 'index.json.lock'), String(dead));
    // A pull killed two hours ago (its staging folder names no process), and one still downloading.
    const oldPull = join(project, '.out.vnfpipe-pull-0123456789ab');
    const livePull = join(project, '.out.vnfpipe-pull-ba9876543210');
    for (const dir of [oldPull, livePull]) {
      await mkdir(dir);
      await writeFile(join(dir, 'sha256-aa'), randomBytes(4096));
    }
    await age(join(oldPull, 'sha256-aa'), 2);
    await age(oldPull, 2);
    // A pull staging folder that names its (dead) writer goes at once, however fresh.
    const deadPull = join(project, `.out.vnfpipe-pull-${dead}-00aa11bb22cc`);
    await mkdir(deadPull);
    await writeFile(join(deadPull, 'sha256-bb'), 'partial');
    // A temp file of a live writer (this process).
    const live = join(tmp, `blob-${process.pid}-0a0b0c`);
    await writeFile(live, 'in progress');

    const build = await runCli(project, [
      'image',
      'build',
      '--from',
      'scratch',
      '--layer',
      'small.txt:/s',
      '--tag',
      'oci:out:app',
    ]);
    expect(build.code, build.stderr).toBe(0);
    expect(build.stderr).toContain(
      `removed a stale lock ${join(out, 'index.json.lock')} left by PID ${dead}`,
    );
    expect(build.stderr).toMatch(
      new RegExp(`removed .*layer-${dead}-[0-9a-f]+ \\(\\d+ bytes\\) left by PID ${dead}`),
    );
    expect((await readdir(tmp)).filter((name) => name.includes(`-${dead}-`))).toEqual([]);
    expect(existsSync(oldPull)).toBe(false);
    expect(existsSync(deadPull)).toBe(false);
    expect(existsSync(livePull)).toBe(true);
    expect(existsSync(live)).toBe(true);

    // Rebuilding the tag with other content leaves the first image's blobs unreferenced.
    await writeFile(join(project, 'small.txt'), 'two');
    expect(
      (
        await runCli(project, [
          'image',
          'build',
          '--from',
          'scratch',
          '--layer',
          'small.txt:/s',
          '--tag',
          'oci:out:app',
        ])
      ).code,
    ).toBe(0);
    const layout = await OciLayout.open(out);
    const reachable = await layout.reachableBlobs();
    const unreferenced = (await readdir(join(out, 'blobs', 'sha256')))
      .map((hex) => `sha256:${hex}`)
      .filter((digest) => !reachable.has(digest as `sha256:${string}`));
    expect(unreferenced.length).toBe(3); // the old manifest, config and layer
    // Now abandoned too.
    await age(join(livePull, 'sha256-aa'), 2);
    await age(livePull, 2);

    const dry = await runCli(project, ['image', 'gc', 'oci:out', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    for (const digest of unreferenced) expect(dry.stdout).toContain(`would remove blob ${digest}`);
    expect(dry.stdout).toContain(`would remove ${livePull}`);
    expect(dry.stdout).toMatch(/would free \d+ bytes: 3 unreferenced blob\(s\), 1 stale/);
    for (const digest of unreferenced) expect(await layout.hasBlob(digest as `sha256:${string}`)).toBe(true);
    expect(existsSync(livePull)).toBe(true);

    const gc = await runCli(project, ['image', 'gc', 'oci:out', '--json']);
    expect(gc.code, gc.stderr).toBe(0);
    const report = JSON.parse(gc.stdout);
    expect(report.removed.sort()).toEqual(unreferenced.sort());
    expect(report.freedBytes).toBeGreaterThan(4096);
    for (const digest of unreferenced) expect(await layout.hasBlob(digest as `sha256:${string}`)).toBe(false);
    expect(existsSync(livePull)).toBe(false);
    expect(existsSync(live)).toBe(true);
    await layout.readManifest(await layout.resolve('app')); // the tagged image is whole
  });

  it('says whose lock a build is waiting for', async () => {
    const work = await temp.make();
    const out = join(work, 'out');
    await OciLayout.openOrCreate(out);
    const lock = join(out, 'index.json.lock');
    // Held by a live process (this one, as far as the build can tell).
    await writeFile(lock, String(process.pid));
    const logs: string[] = [];
    let released = false;
    const built = await buildImage({
      context: work,
      layout: out,
      name: 'x',
      layers: [{ content: { '/a': 'a' } }],
      onLog: (line) => {
        logs.push(line);
        if (line.includes('waiting for the layout lock') && !released) {
          released = true;
          void unlink(lock);
        }
      },
    });
    expect(logs).toContain(`waiting for the layout lock ${lock}, held by PID ${process.pid}`);
    expect(built.digest).toMatch(/^sha256:/);
  });

  it('waits for a lock of another machine, whose process it cannot check', async () => {
    const work = await temp.make();
    const out = join(work, 'out');
    await OciLayout.openOrCreate(out);
    const lock = join(out, 'index.json.lock');
    // A pid that is not running here: on a shared volume it may be a live build elsewhere.
    await writeFile(lock, '2147483646 build-host-b');
    const logs: string[] = [];
    await buildImage({
      context: work,
      layout: out,
      name: 'x',
      onLog: (line) => {
        logs.push(line);
        if (line.includes('waiting for the layout lock')) void unlink(lock);
      },
    });
    expect(logs).toContain(`waiting for the layout lock ${lock}, held by PID 2147483646 on build-host-b`);
    expect(logs.some((line) => line.includes('removed a stale lock'))).toBe(false);
  });
});
