import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeProject } from '../support/project.js';
import { waitFor } from '../support/wait.js';

const header = "import { definePipeline, exec, secret } from 'vnfpipe';\n";

/** Every file under a folder, read as text (journal, caches, logs). */
function allText(dir: string): string {
  let text = '';
  for (const entry of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, entry);
    if (statSync(path).isFile()) text += readFileSync(path, 'utf8');
  }
  return text;
}

describe('vnfpipe run', () => {
  it('retries a failing step twice (3 runs in all) and exits 1', async () => {
    const project = makeProject({
      'vnfpipe.config.ts': `${header}
export default definePipeline('retries', (p) => {
  const first = p.step('first', exec({ run: 'echo one' }));
  const flaky = p.step('flaky', exec({ run: 'echo attempt >> attempts.txt; exit 1' }), { needs: [first], retries: 2, retryDelay: '10ms' });
  p.step('last', exec({ run: 'echo never > last.txt' }), { needs: [flaky] });
});
`,
    });
    const result = await project.cli(['run']);
    expect(result.code).toBe(1);
    expect(readFileSync(join(project.dir, 'attempts.txt'), 'utf8').trim().split('\n')).toHaveLength(3);
    expect(result.stdout).toContain('last skipped');
    expect(result.stdout).toMatch(/flaky failed.*3 attempts/);
    expect(() => statSync(join(project.dir, 'last.txt'))).toThrow();
  });

  it('exits 2 and names the cycle', async () => {
    const project = makeProject({
      'vnfpipe.config.ts': `${header}
export default definePipeline('cyclic', (p) => {
  p.step('a', exec({ run: 'true' }), { needs: ['b'] });
  p.step('b', exec({ run: 'true' }), { needs: ['a'] });
});
`,
    });
    const result = await project.cli(['run']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/dependency cycle: (a → b → a|b → a → b)/);
  });

  it('exits 130 on Ctrl-C, after cancelling the running step and running cleanup', async () => {
    const project = makeProject({
      'vnfpipe.config.ts': `${header}
import { writeFileSync } from 'node:fs';
export default definePipeline('interrupt', (p) => {
  p.onCleanup(() => writeFileSync('cleanup.txt', 'done'));
  p.step('long', exec({ run: 'echo command-running; sleep 30; echo finished > finished.txt' }));
});
`,
    });
    let sent = false;
    let child: { kill(signal: NodeJS.Signals): boolean } | undefined;
    const result = await project.cli(['run'], {
      onSpawn: (c) => {
        child = c;
      },
      // The step printed its marker: the command runs and the CLI's handler is in place.
      onStdout: (out) => {
        if (!sent && out.includes('[long] command-running')) {
          sent = true;
          child?.kill('SIGINT');
        }
      },
    });
    expect(sent).toBe(true);
    // It ended by itself (not by the helper's kill after its timeout), before `sleep 30` could finish.
    expect(result.signal).toBeNull();
    expect(result.code).toBe(130);
    expect(readFileSync(join(project.dir, 'cleanup.txt'), 'utf8')).toBe('done');
    expect(() => statSync(join(project.dir, 'finished.txt'))).toThrow();
    const runs = await project.cli(['runs', 'last', '--json']);
    expect(JSON.parse(runs.stdout)).toMatchObject({
      status: 'cancelled',
      steps: { long: { status: 'cancelled' } },
    });
  });

  it('skips a step whose inputs are unchanged, and plan names the input that changed', async () => {
    const project = makeProject({
      'src/a.txt': 'alpha\n',
      'src/b.txt': 'beta\n',
      'vnfpipe.config.ts': `${header}
export default definePipeline('cached', (p) => {
  p.step('concat', exec({ run: 'mkdir -p out && cat src/*.txt > out/all.txt && echo ran >> runs.log', inputs: ['src/**'], outputs: ['out/all.txt'] }));
});
`,
    });
    expect((await project.cli(['run'])).code).toBe(0);
    const second = await project.cli(['run']);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('concat cached');
    expect(readFileSync(join(project.dir, 'runs.log'), 'utf8')).toBe('ran\n');

    const cachedPlan = JSON.parse((await project.cli(['plan', '--json'])).stdout);
    expect(cachedPlan.steps[0].cache.status).toBe('cached');

    project.write('src/b.txt', 'beta changed\n');
    const plan = await project.cli(['plan']);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('will run: input file changed: src/b.txt');

    const third = await project.cli(['run']);
    expect(third.stdout).toContain('concat ok');
    expect(readFileSync(join(project.dir, 'out/all.txt'), 'utf8')).toBe('alpha\nbeta changed\n');

    const forced = await project.cli(['run', '--no-cache']);
    expect(forced.stdout).toContain('concat ok');
    expect(readFileSync(join(project.dir, 'runs.log'), 'utf8')).toBe('ran\nran\nran\n');
  });

  it('plan --json lists steps with stage and needs', async () => {
    const project = makeProject({
      'vnfpipe.config.ts': `${header}
export default definePipeline('shape', (p) => {
  const b = p.step('compile', exec({ run: 'true' }));
  p.step('ship', exec({ run: 'true', env: { CODE: b.out.exitCode as never } }), { stage: 'push' });
});
`,
    });
    const result = await project.cli(['plan', '--json']);
    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout);
    expect(plan.pipeline).toBe('shape');
    expect(
      plan.steps.map((s: { id: string; stage: string; needs: string[] }) => [s.id, s.stage, s.needs]),
    ).toEqual([
      ['compile', 'build', []],
      ['ship', 'push', ['compile']],
    ]);
  });

  it('never lets a secret reach the journal, the logs or --json output', async () => {
    const value = 'tok-9f8e7d6c5b4a';
    const project = makeProject({
      'vnfpipe.config.ts': `${header}
export default definePipeline('secrets', (p) => {
  p.step('use', exec({ run: 'echo "token is $TOKEN"; echo "err $TOKEN" >&2', env: { TOKEN: secret('TOKEN') } }));
  p.step('leak-output', async (ctx) => ({ echoed: ctx.env.TOKEN }));
  p.step('leak-error', async (ctx) => { throw new Error('bad token ' + ctx.env.TOKEN); }, { needs: ['use'] });
});
`,
    });
    const result = await project.cli(['run', '--json'], { env: { TOKEN: value } });
    expect(result.code).toBe(1);
    const events = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(events.some((e) => e.type === 'step.log' && e.line === 'token is ***')).toBe(true);
    expect(events.find((e) => e.type === 'step.end' && e.step === 'leak-error').error).toMatch(
      /^vnfpipe\.config\.ts:6:\d+: bad token \*\*\*$/,
    );
    const everything = result.stdout + result.stderr + allText(join(project.dir, '.vnfpipe'));
    expect(everything).not.toContain(value);
    expect(everything).toContain('token is ***');
  });

  it('fails clearly when a secret is missing', async () => {
    const project = makeProject({
      'vnfpipe.config.ts': `${header}
export default definePipeline('nosecret', (p) => {
  p.step('use', exec({ run: 'true', env: { TOKEN: secret('MISSING_TOKEN') } }));
});
`,
    });
    const result = await project.cli(['run']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('secret MISSING_TOKEN is not set');
  });

  it('--stage reuses outputs recorded by the previous run, and says what is missing otherwise', async () => {
    const source = `${header}
export default definePipeline('staged', (p) => {
  const built = p.step('build-it', exec({ run: 'echo built > artefact.txt', outputs: ['artefact.txt'] }));
  p.step('ship-it', async (ctx) => {
    const files = ctx.output(built.out.files);
    ctx.log('shipping ' + files[0].digest);
    return { shipped: files[0].digest };
  }, { stage: 'push', needs: [built] });
});
`;
    const fresh = makeProject({ 'vnfpipe.config.ts': source });
    const missing = await fresh.cli(['run', '--stage', 'push']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("the selected stages need outputs of 'build-it'");
    expect(missing.stderr).toContain('run --stage build first');

    const build = await fresh.cli(['run', '--stage', 'build', '--json']);
    expect(build.code).toBe(0);
    const buildEvents = build.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(buildEvents.some((e) => e.step === 'ship-it')).toBe(false);
    const push = await fresh.cli(['run', '--stage', 'push', '--json']);
    expect(push.code).toBe(0);
    const events = push.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(events.some((e) => e.type === 'step.start' && e.step === 'build-it')).toBe(false);
    const digest = events.find((e) => e.type === 'step.log' && e.line.startsWith('shipping '))?.line.slice(9);
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    const unknown = await fresh.cli(['run', '--stage', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown stage 'nope'");
  });
});

describe('loading pipeline files', () => {
  it('reports a syntax error with file:line:column and exits 2', async () => {
    const project = makeProject({
      'vnfpipe.config.ts': `${header}\nexport default definePipeline('broken', (p) => {\n  p.step('a', exec({ run: 'true' })\n});\n`,
    });
    const result = await project.cli(['plan']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/vnfpipe\.config\.ts:5:\d+: Expected/);
  });

  it('points an error thrown while loading at the line that threw', async () => {
    const project = makeProject({
      'lib/steps.ts': "export function broken(): never {\n  throw new Error('no such template');\n}\n",
      'vnfpipe.config.ts': `${header}import { broken } from './lib/steps.ts';\nexport default definePipeline('t', () => { broken(); });\n`,
    });
    const result = await project.cli(['run']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/lib\/steps\.ts:2:\d+: loading the pipeline failed: no such template/);
  });

  it('says so when the default export is not a pipeline', async () => {
    const project = makeProject({ 'p.ts': 'export default { name: 1 };\n' });
    const result = await project.cli(['plan', '-f', 'p.ts']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the default export is not a pipeline');
  });

  it('--help lists run, plan and runs', async () => {
    const project = makeProject();
    const result = await project.cli(['--help']);
    expect(result.code).toBe(0);
    for (const command of ['run', 'plan', 'runs'])
      expect(result.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
  });
});

describe('secrets in every corner', () => {
  it('masks a secret before the step that uses it runs, line by line when it spans lines, and never caches it', async () => {
    const single = 'hook-7c1e2d9f';
    const pem = '-----BEGIN KEY-----\nAAAAsecretline1xx\nBBBBsecretline2xx\n-----END KEY-----';
    const project = makeProject({
      'src/in.txt': 'x',
      'vnfpipe.config.ts': `${header}
export default definePipeline('corners', (p) => {
  const early = p.step('early', exec({ run: 'env | grep -E "HOOK|MYKEY" || true' }));
  p.step('key', exec({ run: 'printf "%s\\\\n" "$K"', env: { K: secret('MYKEY') } }), { needs: [early] });
  p.step('skipped', exec({ run: 'true', env: { H: secret('HOOK') } }), { when: false });
  p.step('login', async (ctx) => {
    ctx.addSecret(ctx.env.HOOK);
    return { header: 'Bearer ' + ctx.env.HOOK };
  }, { inputs: ['src/**'] });
});
`,
    });
    const env = { HOOK: single, MYKEY: pem };
    for (let i = 0; i < 2; i++) {
      const result = await project.cli(['run', '--json'], { env });
      expect(result.code, result.stderr).toBe(0);
      const everything = result.stdout + result.stderr + allText(join(project.dir, '.vnfpipe'));
      for (const value of [single, 'AAAAsecretline1xx', 'BBBBsecretline2xx'])
        expect(everything).not.toContain(value);
      // The output held a secret, so it was not cached: the step ran again.
      expect(result.stdout).toContain('"step":"login","status":"ok"');
    }
  });

  it('reruns a custom step whose code changed, and plan says its options changed', async () => {
    const source = (word: string) => `${header}
export default definePipeline('code', (p) => {
  p.step('greet', async () => ({ said: '${word}' }), { inputs: ['src/**'] });
});
`;
    const project = makeProject({ 'src/in.txt': 'x', 'vnfpipe.config.ts': source('hello') });
    expect((await project.cli(['run'])).code).toBe(0);
    expect((await project.cli(['run'])).stdout).toContain('greet cached');
    project.write('vnfpipe.config.ts', source('goodbye'));
    expect((await project.cli(['plan'])).stdout).toContain('will run: options changed');
    const rerun = await project.cli(['run']);
    expect(rerun.stdout).toContain('greet ok');
    const last = JSON.parse((await project.cli(['runs', 'last', '--json'])).stdout);
    expect(last.steps.greet.output).toEqual({ said: 'goodbye' });
  });
});

describe('a reader that goes away', () => {
  it('run --json | head -1 finishes the run, runs cleanups and records the outcome', async () => {
    const { execFileSync } = await import('node:child_process');
    const { CLI } = await import('../support/project.js');
    const project = makeProject({
      'vnfpipe.config.ts': `${header}
import { writeFileSync } from 'node:fs';
export default definePipeline('piped', (p) => {
  p.onCleanup(() => writeFileSync('cleanup.txt', 'done'));
  p.step('chatty', exec({ run: 'for i in $(seq 1 2000); do echo line $i; done' }));
});
`,
    });
    const first = execFileSync('sh', ['-c', `"${process.execPath}" "${CLI}" run --json | head -1`], {
      cwd: project.dir,
      encoding: 'utf8',
      env: { ...process.env, CI: 'true' },
    });
    expect(JSON.parse(first).type).toBe('run.start');
    // The CLI may outlive `head` by a moment: wait for its cleanup's marker file.
    await waitFor('the cleanup marker', () => statSafe(join(project.dir, 'cleanup.txt')));
    expect(readFileSync(join(project.dir, 'cleanup.txt'), 'utf8')).toBe('done');
    const runs = JSON.parse((await project.cli(['runs', '--json'])).stdout).runs;
    expect(runs[0].status).toBe('ok');
  });
});

function statSafe(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

describe('cached image builds', () => {
  it('rebuild when the image is gone from the layout, and plan says so', async () => {
    const { rmSync } = await import('node:fs');
    const project = makeProject({
      'app/hello.txt': 'hello\n',
      'vnfpipe.config.ts': `import { definePipeline, image } from 'vnfpipe';
export default definePipeline('img', (p) => {
  p.step('img', image.build({ from: 'scratch', layers: [image.files({ 'app/hello.txt': '/hello.txt' })] }));
});
`,
    });
    expect((await project.cli(['run'])).code).toBe(0);
    expect((await project.cli(['run'])).stdout).toContain('img cached');
    rmSync(join(project.dir, '.vnfpipe', 'oci'), { recursive: true });
    expect((await project.cli(['plan'])).stdout).toMatch(
      /will run: output \.vnfpipe\/oci\/blobs\/sha256\/[0-9a-f]{64} is missing/,
    );
    const rebuilt = await project.cli(['run']);
    expect(rebuilt.stdout).toContain('img ok');
    expect(statSync(join(project.dir, '.vnfpipe', 'oci', 'index.json')).isFile()).toBe(true);
  });
});

describe('a damaged journal', () => {
  it('is skipped by runs with a warning naming the run, never a crash', async () => {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const project = makeProject({
      'vnfpipe.config.ts': `${header}\nexport default definePipeline('j', (p) => { p.step('a', exec({ run: 'true' })); });\n`,
    });
    expect((await project.cli(['run'])).code).toBe(0);
    const broken = join(project.dir, '.vnfpipe', 'runs', '29991231T000000Z-000000');
    mkdirSync(broken, { recursive: true });
    writeFileSync(
      join(broken, 'run.json'),
      JSON.stringify({
        version: 1,
        id: 'x',
        pipeline: 'j',
        startedAt: 'now',
        status: 'ok',
        steps: { a: null },
      }),
    );
    const listing = await project.cli(['runs']);
    expect(listing.code).toBe(0);
    expect(listing.stderr).toContain(
      'skipped run 29991231T000000Z-000000: run 29991231T000000Z-000000: run.json is not a vnfpipe journal',
    );
    expect(listing.stdout).toMatch(/^\d{8}T\d{9}Z-[0-9a-f]{6}\s+j\s+ok/m);
  });
});

describe('a second Ctrl-C', () => {
  it('exits at once and ends commands that ignore SIGTERM', async () => {
    const project = makeProject({
      'vnfpipe.config.ts': `${header}
export default definePipeline('stubborn', (p) => {
  p.step('stubborn', exec({ run: 'trap "" TERM; echo $$ > pid.txt; echo command-running; while true; do sleep 0.1; done', killGraceMs: 60000 }));
});
`,
    });
    let child: { kill(signal: NodeJS.Signals): boolean } | undefined;
    let sent = 0;
    const result = await project.cli(['run'], {
      onSpawn: (c) => {
        child = c;
      },
      onStdout: (out) => {
        if (sent === 0 && out.includes('[stubborn] command-running')) {
          sent = 1;
          child?.kill('SIGINT');
        }
      },
      // The second Ctrl-C once the CLI said it is handling the first.
      onStderr: (err) => {
        if (sent === 1 && err.includes('vnfpipe: interrupting')) {
          sent = 2;
          child?.kill('SIGINT');
        }
      },
    });
    expect(sent).toBe(2);
    expect(result.code).toBe(130);
    expect(result.stderr).toContain('interrupted again');
    const pid = Number(readFileSync(join(project.dir, 'pid.txt'), 'utf8'));
    // Gone, or a zombie nobody reaps (this sandbox's init does not): either way it no longer runs. The kill
    // is delivered asynchronously, so wait for it rather than look once.
    const state = () => {
      try {
        return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
      } catch {
        return 'gone';
      }
    };
    await waitFor(`process ${pid} to end`, () => ['gone', 'Z', 'X'].includes(state() ?? ''));
    expect(['gone', 'Z', 'X']).toContain(state());
  });
});
