/** `vnfpipe image build --dockerfile` as a process: exit codes, failing RUN output, NDJSON progress. */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { engineImageName, readSecretSpec } from '../../src/cli/image-dockerfile.js';
import { busyboxInDocker } from '../support/engine-images.js';

const BIN = resolve('bin', 'vnfpipe.js');

function vnfpipe(args: string[], cwd: string, env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

let base: string;
beforeAll(() => {
  base = busyboxInDocker();
});

function context(dockerfile: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-bk-cli-'));
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  return dir;
}

describe('image build --dockerfile', () => {
  it('exits 1 on a failing RUN and shows the command, its exit code and its output', async () => {
    const dir = context(
      `FROM ${base}\nRUN echo first-line && echo "broken step output" >&2 && exit 7\nCMD ["true"]\n`,
    );
    const result = await vnfpipe(['image', 'build', '--dockerfile', 'Dockerfile', '--tag', 'oci:out:x'], dir);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/exit code: 7/);
    expect(result.stderr).toContain('echo first-line');
    expect(result.stderr).toContain('  | broken step output');
  });

  it('emits vertexes and logs as NDJSON events with --json, then the result', async () => {
    const dir = context(`FROM ${base}\nARG WORD\nRUN echo "said $WORD"\nCMD ["true"]\n`);
    const result = await vnfpipe(
      [
        'image',
        'build',
        '-f',
        'Dockerfile',
        '--build-arg',
        'WORD=json',
        '--no-cache',
        '--json',
        '-t',
        'oci:out:j',
      ],
      dir,
    );
    expect(result.code, result.stderr).toBe(0);
    const events = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const run = events.filter((e) => e.type === 'vertex' && String(e.name).includes('RUN echo "said json"'));
    expect(run.map((e) => e.state)).toEqual(['started', 'completed']);
    expect(typeof run[1]!.durationMs).toBe('number');
    expect(events.some((e) => e.type === 'log' && e.line === 'said json')).toBe(true);
    const last = events.at(-1)!;
    expect(last).toMatchObject({
      type: 'result',
      reference: expect.stringMatching(/^oci:out:j@sha256:/),
      phasesMs: { connect: expect.any(Number), solve: expect.any(Number), export: expect.any(Number) },
    });
    const index = JSON.parse(readFileSync(join(dir, 'out', 'index.json'), 'utf8'));
    expect(index.manifests[0].annotations['org.opencontainers.image.ref.name']).toBe('j');
  });

  it('exits 2 on an unknown stage, a missing Dockerfile and a malformed --secret', async () => {
    const dir = context(`FROM ${base} AS one\nCMD ["true"]\n`);
    const stage = await vnfpipe(
      ['image', 'build', '-f', 'Dockerfile', '--target', 'two', '-t', 'oci:o:x'],
      dir,
    );
    expect(stage.code, stage.stderr).toBe(2);
    expect(stage.stderr).toMatch(/two/);
    const missing = await vnfpipe(['image', 'build', '-f', 'Nope', '-t', 'oci:o:x'], dir);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('Dockerfile not found');
    const secret = await vnfpipe(
      ['image', 'build', '-f', 'Dockerfile', '--secret', 'id=a', '-t', 'oci:o:x'],
      dir,
    );
    expect(secret.code).toBe(2);
    expect(secret.stderr).toContain("--secret 'id=a' is not id=ID,src=FILE or id=ID,env=VAR");
  });

  it('keeps the image in the engine with --tag docker-daemon:<name>, like docker build -t', async () => {
    const dir = context(`FROM ${base}\nRUN echo engine-side > /built\nCMD ["cat", "/built"]\n`);
    const name = `vnfpipe-test/engine-dest:${process.pid}`;
    try {
      const result = await vnfpipe(
        ['image', 'build', '-f', 'Dockerfile', '--json', '-t', `docker-daemon:${name}`],
        dir,
      );
      expect(result.code, result.stderr).toBe(0);
      const last = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
      const id = execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', name]).toString().trim();
      expect(last).toMatchObject({ type: 'result', reference: `docker-daemon:${name}`, imageId: id });
      expect(last.phasesMs).toMatchObject({ solve: expect.any(Number) });
      const out = execFileSync('docker', ['run', '--rm', '--network', 'none', name]).toString();
      expect(out.trim()).toBe('engine-side');
    } finally {
      execFileSync('docker', ['image', 'rm', '-f', name], { stdio: 'ignore' });
    }
  });

  it('refuses a docker-daemon: name the engine could not take, before building (exit 2)', async () => {
    const dir = context(`FROM ${base}\nCMD ["true"]\n`);
    const result = await vnfpipe(
      ['image', 'build', '-f', 'Dockerfile', '-t', 'docker-daemon:Bad/Name@sha256:x'],
      dir,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "--tag 'docker-daemon:Bad/Name@sha256:x' is not docker-daemon:<name>[:<tag>]",
    );
    expect(engineImageName('docker-daemon:localhost:5000/vnf/vfw:1.2')).toBe('localhost:5000/vnf/vfw:1.2');
    const native = await vnfpipe(
      ['image', 'build', '--from', 'scratch', '-l', 'Dockerfile:/Dockerfile', '-t', 'docker-daemon:x:1'],
      dir,
    );
    expect(native.code).toBe(2);
    expect(native.stderr).toContain('only --dockerfile builds happen in the engine');
    expect(engineImageName('oci:out:x')).toBeUndefined();
  });

  it('says a missing base is never pulled', async () => {
    const dir = context('FROM vnfpipe-test/not-here:nope\nCMD ["true"]\n');
    const result = await vnfpipe(['image', 'build', '-f', 'Dockerfile', '-t', 'oci:o:x'], dir);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('never pulled');
  });
});

describe('--secret specs', () => {
  it('reads files and variables, and refuses a missing variable without naming a value', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-bk-secret-'));
    writeFileSync(join(dir, 'tok'), 'from-file');
    const [id, value] = await readSecretSpec(`id=t,src=${join(dir, 'tok')}`);
    expect([id, Buffer.from(value).toString()]).toEqual(['t', 'from-file']);
    const [, fromEnv] = await readSecretSpec('id=e,env=TOKEN', { TOKEN: 'from-env' });
    expect(Buffer.from(fromEnv).toString()).toBe('from-env');
    await expect(readSecretSpec('id=e,env=ABSENT', {})).rejects.toMatchObject({ code: 'SECRET_MISSING' });
    await expect(readSecretSpec('id=e,src=a,env=B', {})).rejects.toMatchObject({ code: 'USAGE' });
  });
});
