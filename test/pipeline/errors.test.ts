/**
 * Pipeline errors name the user's own file:line:col (relative to where vnfpipe runs, and existing), never
 * the bundle in the cache; the line they name is the one to fix.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeProject, type Project } from '../support/project.js';

const header = "import { definePipeline, exec } from 'vnfpipe';\n";

/** Every `file:line:col` in a text, with the source line it names (read from the project). */
function sites(project: Project, text: string): Array<{ site: string; line: string }> {
  return [...text.matchAll(/([\w./-]+\.ts):(\d+):(\d+)/g)].map((m) => {
    const file = m[1]!;
    expect(existsSync(join(project.dir, file)), `${file} exists`).toBe(true);
    const line = readFileSync(join(project.dir, file), 'utf8').split('\n')[Number(m[2]) - 1] ?? '';
    return { site: m[0], line };
  });
}

/** The line a site in a problem line points at. */
function lineOf(project: Project, text: string, problem: string | RegExp): string {
  const found = text
    .split('\n')
    .find((l) => (typeof problem === 'string' ? l.includes(problem) : problem.test(l)));
  expect(found, `a line with ${String(problem)} in:\n${text}`).toBeDefined();
  const [first] = sites(project, found!);
  expect(first, `a site in: ${found}`).toBeDefined();
  return first!.line;
}

describe('pipeline errors point at the user file', () => {
  it('duplicate ids, unknown needs, bad retries and cycles name the declaring lines', async () => {
    const project = makeProject({
      'vnfpipe.config.ts': `${header}export default definePipeline('bad', (p) => {
  p.step('first', exec({ run: 'true' }), { needs: ['nope'] });
  p.step('first', exec({ run: 'echo dup' }));
  p.step('retry', exec({ run: 'true' }), { retries: -1 });
  p.step('ping', exec({ run: 'echo ping' }), { needs: ['pong'] });
  p.step('pong', exec({ run: 'echo pong' }), { needs: ['ping'] });
});
`,
    });
    for (const command of ['plan', 'run']) {
      const result = await project.cli([command]);
      expect(result.code).toBe(2);
      const err = result.stderr;
      expect(err).not.toContain('.vnfpipe/cache');
      expect(lineOf(project, err, 'duplicate step id')).toContain('echo dup');
      expect(err).toMatch(/duplicate step id \(first declared at vnfpipe\.config\.ts:3:\d+\)/);
      expect(lineOf(project, err, "needs 'nope'")).toContain("needs: ['nope']");
      expect(lineOf(project, err, 'retries must be')).toContain('retries: -1');
      expect(err).toMatch(/dependency cycle: (ping → pong → ping|pong → ping → pong)/);
      expect(lineOf(project, err, /^\s+ping: /)).toContain('echo ping');
      expect(lineOf(project, err, /^\s+pong: /)).toContain('echo pong');
    }
  });

  it('an error thrown while loading, and a bad pipeline name, point at their lines', async () => {
    const project = makeProject({
      'throws.ts': `${header}\nexport default definePipeline('t', (p) => {\n  p.step('a', exec({ run: 'true' }));\n  throw new TypeError('no template here');\n});\n`,
      'named.ts': `${header}\nexport default definePipeline('bad name', () => {});\n`,
    });
    const thrown = await project.cli(['plan', '-f', 'throws.ts']);
    expect(thrown.code).toBe(2);
    expect(thrown.stderr).toMatch(
      /^vnfpipe: error: throws\.ts:5:\d+: loading the pipeline failed: no template here/m,
    );
    expect(lineOf(project, thrown.stderr, 'no template here')).toContain('throw new TypeError');

    const named = await project.cli(['plan', '-f', 'named.ts']);
    expect(named.code).toBe(2);
    expect(lineOf(project, named.stderr, "pipeline name 'bad name'")).toContain("definePipeline('bad name'");
  });

  it('a missing output field names the consuming step, the field and the line that took it', async () => {
    const project = makeProject({
      'vnfpipe.config.ts': `${header}export default definePipeline('fields', (p) => {
  const producer = p.step('producer', async () => ({ digest: 'sha256:abc' }));
  p.step('consumer', exec({
    run: 'echo "$D"',
    env: { D: (producer.out as unknown as Record<string, string>).digset },
  }));
});
`,
    });
    const result = await project.cli(['run']);
    expect(result.code).toBe(1);
    const message =
      "step 'consumer' uses producer.out.digset, but the output of step 'producer' has no field 'digset'";
    expect(result.stdout).toContain(message);
    expect(result.stdout).toContain('its fields there: digest');
    expect(result.stdout).not.toMatch(/step producer:/);
    expect(lineOf(project, result.stdout, message)).toContain('.digset');
  });

  it('a missing package is named in the install hint, scoped and deep imports by their package', async () => {
    const project = makeProject({
      'scoped.ts': `${header}import { steps } from '@acme/vnf-steps/deep/x.js';\nexport default definePipeline('s', (p) => steps(p));\n`,
      'plain.ts': `${header}import pad from 'left-pad-nowhere/sub';\nexport default definePipeline('s', () => { pad(); });\n`,
    });
    const scoped = await project.cli(['plan', '-f', 'scoped.ts']);
    expect(scoped.code).toBe(2);
    expect(scoped.stderr).toContain('npm install --save-dev @acme/vnf-steps\n');
    expect(scoped.stderr).not.toContain('.vnfpipe/cache');
    const plain = await project.cli(['plan', '-f', 'plain.ts']);
    expect(plain.stderr).toContain('npm install --save-dev left-pad-nowhere\n');
    expect(plain.stderr).not.toContain('save-dev vnfpipe');
  });

  it('a project without vnfpipe of its own is told how to install it, before and after publishing', async () => {
    const project = makeProject({ 'p.ts': `${header}export default definePipeline('s', () => {});\n` });
    rmSync(join(project.dir, 'node_modules', 'vnfpipe'));
    const result = await project.cli(['plan', '-f', 'p.ts']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Cannot find package 'vnfpipe'");
    expect(result.stderr).toContain('npm install --save-dev vnfpipe (before it is published:');
  });

  it('a custom step that throws keeps the line that threw in its error, and its stack in the step log', async () => {
    const project = makeProject({
      'lib/checks.ts':
        "export function check(): never {\n  throw new RangeError('probe budget exceeded');\n}\n",
      'vnfpipe.config.ts': `${header}import { check } from './lib/checks.ts';
export default definePipeline('throws', (p) => {
  p.step('custom', async () => {
    return check();
  });
});
`,
    });
    const result = await project.cli(['run', '--json']);
    expect(result.code).toBe(1);
    const end = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .find((e) => e.type === 'step.end' && e.step === 'custom');
    expect(end.error).toMatch(/^lib\/checks\.ts:2:\d+: RangeError: probe budget exceeded$/);
    expect(lineOf(project, end.error, 'probe budget')).toContain('throw new RangeError');
    const runs = JSON.parse((await project.cli(['runs', 'last', '--json'])).stdout);
    const log = readFileSync(join(project.dir, '.vnfpipe', 'runs', runs.id, 'steps', 'custom.log'), 'utf8');
    expect(log).toContain('RangeError: probe budget exceeded');
    expect(log).toMatch(/lib\/checks\.ts:2:\d+/);
    expect(log).toMatch(/vnfpipe\.config\.ts:5:\d+/);
  });

  it('stages that depend on each other name the steps that make them, with their lines', async () => {
    const project = makeProject({
      'vnfpipe.config.ts': `${header}export default definePipeline('stages', (p) => {
  p.step('two', exec({ run: 'echo two' }), { stage: 'y' });
  p.step('one', exec({ run: 'echo one' }), { stage: 'x', needs: ['two'] });
  p.step('three', exec({ run: 'echo three' }), { stage: 'y', needs: ['one'] });
});
`,
    });
    const result = await project.cli(['plan']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/stages depend on each other/);
    const one = /one needs two at (\S+:\d+:\d+)/.exec(result.stderr)?.[1];
    const three = /three needs one at (\S+:\d+:\d+)/.exec(result.stderr)?.[1];
    expect(lineOf(project, one ?? '', /./)).toContain('echo one');
    expect(lineOf(project, three ?? '', /./)).toContain('echo three');
  });

  it('a when condition that throws points at its line', async () => {
    const project = makeProject({
      'vnfpipe.config.ts': `${header}export default definePipeline('when', (p) => {
  p.step('gated', exec({ run: 'true' }), {
    when: () => {
      throw new Error('no such flag');
    },
  });
});
`,
    });
    const result = await project.cli(['run']);
    expect(result.code).toBe(1);
    expect(lineOf(project, result.stdout, 'no such flag')).toContain("throw new Error('no such flag')");
  });
});
