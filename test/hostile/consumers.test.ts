/**
 * Every case of the hostile corpus against the other consumers of an image: `image build --from` the layout,
 * `pull` from a registry that serves the layout unchecked, and deploy-from-layout into the real engine. Each
 * must give a typed refusal that names what was wrong (and change nothing: no output layout, no image
 * in the engine), or the right result — never a crash, a hang or a silent pass. CLI runs use dist/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLayoutImage } from '../../src/deploy/docker/load.ts';
import { DockerEngine } from '../../src/deploy/engine/client.ts';
import { VnfpipeError } from '../../src/errors.ts';
import { type Consumer, generateHostileCorpus, type HostileCase } from '../fixtures/hostile/corpus.ts';
import { requireDocker } from '../support/docker.js';
import { type LayoutRegistry, serveLayout } from '../support/layout-registry.js';
import { type CliRun, hostileCli } from './cli.js';

const work = mkdtempSync(join(tmpdir(), 'vnfpipe-hostile-consumers-'));
const cases = await generateHostileCorpus(join(work, 'corpus'));
const context = join(work, 'context');
mkdirSync(context);
writeFileSync(join(context, 'app.conf'), 'hostile corpus\n');

const cli = (args: string[], cwd = work) =>
  hostileCli(args, { cwd, env: { VNFPIPE_CACHE_DIR: join(work, 'cache') } });

/** skopeo copies every blob of the image and checks each digest: a layout it can copy is whole. */
function skopeoReads(layout: string, ref: string): void {
  execFileSync(
    'skopeo',
    ['copy', '-q', `oci:${layout}:${ref}`, `oci:${join(layout, '..', `${ref}-check`)}:x`],
    {
      stdio: 'pipe',
    },
  );
}

function applicable(consumer: Exclude<Consumer, 'scan'>) {
  return cases.map((c) => [c.name, c] as const).filter(([, c]) => !c.notApplicable?.[consumer]);
}

function expectation(c: HostileCase, consumer: Exclude<Consumer, 'scan'>) {
  const want = c.expect[consumer];
  if (!want) throw new Error(`case ${c.name} says nothing about ${consumer} and gives no reason`);
  return want;
}

function expectCleanCli(run: CliRun, refuse: boolean) {
  expect(run.signal, run.stderr).toBeNull();
  expect(run.stderr).not.toMatch(/unexpected error|heap out of memory|\n\s+at .*\.js:\d+/);
  if (refuse) {
    expect([1, 2], run.stderr).toContain(run.code);
    expect(run.stderr).toMatch(/^vnfpipe: error: /m);
  } else {
    expect(run.code, run.stderr).toBe(0);
  }
}

describe('hostile corpus: the other consumers', () => {
  it('every case says what each consumer must do, or why it cannot reach it', () => {
    for (const c of cases) {
      for (const consumer of ['build', 'pull', 'deploy'] as const) {
        expect(
          Boolean(c.expect[consumer]) !== Boolean(c.notApplicable?.[consumer]),
          `${c.name}/${consumer}`,
        ).toBe(true);
      }
    }
  });

  it.each(applicable('build'))('%s: image build --from the layout', async (name, c) => {
    const want = expectation(c, 'build');
    const out = join(work, 'build', name);
    const run = await cli(
      [
        'image',
        'build',
        '--from',
        c.ref,
        '--layer',
        'app.conf:/etc/app/app.conf',
        '--tag',
        `oci:${out}:built`,
      ],
      context,
    );
    expectCleanCli(run, want.outcome === 'refuse');
    if (want.outcome === 'refuse') {
      expect(run.stderr).toMatch(want.message!);
      expect(existsSync(join(out, 'index.json')), 'a refused build writes no image').toBe(false);
    } else {
      skopeoReads(out, 'built');
    }
  });

  describe('pull from a registry that serves the layout unchecked', () => {
    const servers: LayoutRegistry[] = [];
    afterAll(async () => {
      await Promise.all(servers.map((s) => s.stop()));
    });

    it.each(applicable('pull'))('%s: pull', async (name, c) => {
      const want = expectation(c, 'pull');
      const server = await serveLayout(c.layout);
      servers.push(server);
      const out = join(work, 'pull', name);
      const run = await cli(['pull', `${server.host}/hostile/${name}:hostile`, `oci:${out}:pulled`]);
      expectCleanCli(run, want.outcome === 'refuse');
      if (want.outcome === 'refuse') {
        expect(run.stderr).toMatch(want.message!);
        expect(existsSync(join(out, 'index.json')), 'a refused pull writes no image').toBe(false);
      } else {
        skopeoReads(out, 'pulled');
      }
    });
  });

  describe('deploy from the layout into the engine', () => {
    let engine: DockerEngine;
    const loaded: string[] = [];
    beforeAll(() => {
      requireDocker();
      engine = new DockerEngine();
    });
    afterAll(() => {
      for (const id of loaded) execFileSync('/usr/bin/docker', ['rmi', '-f', id], { stdio: 'ignore' });
    });

    it.each(applicable('deploy'))('%s: load', async (_name, c) => {
      const want = expectation(c, 'deploy');
      const result = await loadLayoutImage(engine, c.ref, work, () => {}).then(
        (id) => ({ id }),
        (error: unknown) => ({ error }),
      );
      if (want.outcome === 'refuse') {
        expect('error' in result, 'refused').toBe(true);
        const error = (result as { error: unknown }).error;
        expect(error).toBeInstanceOf(VnfpipeError);
        const e = error as VnfpipeError;
        expect(`${e.message}\n${e.where}`).toMatch(want.message!);
      } else {
        expect('id' in result, String((result as { error?: unknown }).error)).toBe(true);
        const id = (result as { id: string }).id;
        loaded.push(id);
        expect(
          execFileSync('/usr/bin/docker', ['image', 'inspect', '--format', '{{.Id}}', id], {
            encoding: 'utf8',
          }).trim(),
        ).toBe(id);
      }
    });
  });
});
