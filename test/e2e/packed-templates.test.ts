/**
 * The first hour of a user, outside this repository: the package as `npm pack` makes it, installed into an
 * empty project from the tarball, then `vnfpipe init --template T && vnfpipe check && vnfpipe run` for each
 * template that runs on one machine, and `render` for the kubernetes one. dist/ must be built already
 * (`npm test` builds it once): packing uses --ignore-scripts, so nothing here rebuilds it.
 */
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { DockerTarget } from '../../src/deploy/docker/target.js';
import { validateAll } from '../deploy/kubernetes/support.js';
import { requireDocker } from '../support/docker.js';
import { REPO_ROOT, runCli } from '../support/project.js';
import { freePrefix16 } from '../support/subnets.js';

const exec = promisify(execFile);
const id = process.pid.toString(36);

describe('the packed package in an empty project', { timeout: 600_000 }, () => {
  let root: string;
  let cli: string;
  const deployed: Array<{ dir: string; name: string; roles: string[] }> = [];
  const parent = `vnpk${id}`.slice(0, 12);

  const vnfpipe = (dir: string, args: string[], env: Record<string, string> = {}) =>
    runCli(dir, args, { env, timeoutMs: 300_000, cli });

  beforeAll(async () => {
    requireDocker();
    if (!existsSync(join(REPO_ROOT, 'dist', 'index.js')))
      throw new Error('dist/ is missing: run npm run build first');
    root = mkdtempSync(join(tmpdir(), 'vnfpipe-packed-'));
    const packs = join(root, 'packs');
    mkdirSync(packs);
    await exec('npm', ['pack', '--ignore-scripts', '--pack-destination', packs], { cwd: REPO_ROOT });
    const [tarball] = readdirSync(packs).filter((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error('npm pack wrote no tarball');
    const project = join(root, 'project');
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      `${JSON.stringify({ name: 'first-hour', private: true })}\n`,
    );
    await exec(
      'npm',
      ['install', '--save-dev', '--prefer-offline', '--no-audit', '--no-fund', join(packs, tarball)],
      { cwd: project, maxBuffer: 16 * 1024 * 1024 },
    );
    cli = join(project, 'node_modules', 'vnfpipe', 'bin', 'vnfpipe.js');
    // npm install of the package and its dependencies takes minutes on a busy machine.
  }, 600_000);

  afterAll(async () => {
    for (const { dir, name, roles } of deployed) {
      await new DockerTarget(join(dir, '.vnfpipe')).destroy({
        name,
        image: 'x',
        networks: roles.map((role) => ({ role })),
      });
    }
    await exec('ip', ['link', 'del', parent]).catch(() => undefined);
    if (root) rmSync(root, { recursive: true, force: true });
  }, 300_000);

  const initialised = async (template: string) => {
    const dir = join(root, 'project', template);
    const init = await vnfpipe(join(root, 'project'), ['init', '--template', template, template]);
    expect(init.code, init.stderr).toBe(0);
    for (const file of [
      'vnfpipe.config.ts',
      'tsconfig.json',
      '.github/workflows/vnfpipe.yml',
      '.gitignore',
    ]) {
      expect(existsSync(join(dir, file)), file).toBe(true);
    }
    const check = await vnfpipe(dir, ['check']);
    expect(check.code, check.stderr).toBe(0);
    // The shipped workflow is what `vnfpipe ci github` generates from the shipped pipeline.
    const drift = await vnfpipe(dir, ['ci', 'github', '--check']);
    expect(drift.code, drift.stdout + drift.stderr).toBe(0);
    return dir;
  };

  const runs: Array<[string, string[], Record<string, string>]> = [
    ['basic', ['mgmt'], {}],
    ['dockerfile', ['mgmt'], {}],
    ['multi-net', ['mgmt', 'out', 'in'], { VNF_PARENT: parent }],
  ];
  it.each(runs)('init --template %s && check && run succeeds', async (template, roles, extra) => {
    const dir = await initialised(template);
    const name = `pk-${template}-${id}`;
    deployed.push({ dir, name, roles });
    const env = { VNF_NAME: name, VNF_NET: freePrefix16([1, 2, 3]), ...extra };
    const run = await vnfpipe(dir, ['run'], env);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/verify: .* verified: (\d+) of \1 probes passed/);
  });

  it('init --template kubernetes && check && render writes objects that validate', async () => {
    const dir = await initialised('kubernetes');
    const render = await vnfpipe(dir, ['render', '-o', 'k8s']);
    expect(render.code, render.stderr).toBe(0);
    const objects = parseAllDocuments(readFileSync(join(dir, 'k8s', 'cnf.yaml'), 'utf8')).map((d) =>
      d.toJS(),
    );
    expect(objects.map((o) => o.kind)).toEqual(
      expect.arrayContaining(['Namespace', 'NetworkAttachmentDefinition']),
    );
    const hugepages = JSON.stringify(objects.find((o) => o.kind === 'Deployment'));
    expect(hugepages).toContain('hugepages-2Mi');
    expect(() => validateAll(objects)).not.toThrow();
  });

  it('init --template fleet && check && plan shows the waves as ordinary steps', async () => {
    const dir = await initialised('fleet');
    const plan = await vnfpipe(dir, ['plan', '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    const steps = (JSON.parse(plan.stdout) as { steps: Array<{ id: string; stage: string }> }).steps;
    const stageOf = (id: string) => steps.find((step) => step.id === id)?.stage;
    expect([stageOf('deploy-lab'), stageOf('deploy-edge1'), stageOf('deploy-edge2')]).toEqual([
      'wave-1',
      'wave-2',
      'wave-2',
    ]);
    expect(steps.map((step) => step.id)).toEqual(
      expect.arrayContaining(['verify-lab', 'verify-edge1', 'rollback-edge1', 'rollback-edge2']),
    );
  });

  it('init refuses to overwrite without --force and names the files', async () => {
    const dir = join(root, 'project', 'again');
    expect((await vnfpipe(join(root, 'project'), ['init', 'again'])).code).toBe(0);
    writeFileSync(join(dir, 'vnfpipe.config.ts'), '// mine\n');
    const again = await vnfpipe(join(root, 'project'), ['init', 'again']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('vnfpipe.config.ts');
    expect(again.stderr).toContain('--force');
    expect(readFileSync(join(dir, 'vnfpipe.config.ts'), 'utf8')).toBe('// mine\n');
    const unknown = await vnfpipe(join(root, 'project'), ['init', '--template', 'nope', 'x']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('basic, multi-net, dockerfile, kubernetes');
  });

  it('check fails a type error with file:line:col and exit 2', async () => {
    const dir = join(root, 'project', 'typo');
    expect((await vnfpipe(join(root, 'project'), ['init', 'typo'])).code).toBe(0);
    writeFileSync(
      join(dir, 'vnfpipe.config.ts'),
      `${readFileSync(join(dir, 'vnfpipe.config.ts'), 'utf8')}\nexport const n: number = 'x';\n`,
    );
    const lines = readFileSync(join(dir, 'vnfpipe.config.ts'), 'utf8').split('\n').length - 1;
    const check = await vnfpipe(dir, ['check']);
    expect(check.code).toBe(2);
    expect(check.stderr).toContain(`vnfpipe.config.ts:${lines}:14 - error TS2322`);
    const plan = await vnfpipe(dir, ['plan', '--typecheck']);
    expect(plan.code).toBe(2);
    // run strips types without checking them: the same file runs its plan.
    expect((await vnfpipe(dir, ['plan'])).code).toBe(0);
  });
});
