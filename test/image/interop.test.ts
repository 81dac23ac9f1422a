/**
 * The built layout against the real tools: skopeo reads it, umoci unpacks it, Docker runs it. Nothing here
 * reaches the network: the base is made locally and `docker run` never pulls.
 */
import { execFileSync } from 'node:child_process';
import { lstat, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../src/image/builder.js';
import type { ImageRef } from '../../src/image/types.js';
import { makeBaseLayout } from '../support/images.js';
import { requireTool, TempDirs } from './support.js';

const DOCKER = '/usr/bin/docker';
const temp = new TempDirs();
let image: ImageRef;
let work: string;

const HELLO = `#!/bin/sh
echo "args=$*"
echo "greeting=$GREETING"
echo "pwd=$(pwd)"
echo "uid=$(id -u)"
echo "conf=$(cat /etc/hello.conf)"
if [ -e /bin/vi ]; then echo "vi=present"; else echo "vi=absent"; fi
`;

function run(file: string, args: string[]): string {
  return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
}

beforeAll(async () => {
  requireTool('skopeo');
  requireTool('umoci');
  work = await temp.make('vnfpipe-interop-');
  const base = makeBaseLayout(join(work, 'base'));
  const project = join(work, 'project');
  await execFileSync('mkdir', ['-p', project]);
  await writeFile(join(project, 'hello.sh'), HELLO, { mode: 0o644 });
  image = await buildImage({
    context: project,
    stateDir: join(work, 'state'),
    name: 'hello',
    from: `oci:${base}:latest`,
    layers: [
      { files: { 'hello.sh': '/usr/local/bin/hello' }, mode: 0o755 },
      {
        content: { '/etc/hello.conf': 'from-content' },
        symlinks: { '/usr/local/bin/hi': 'hello' },
        directories: { '/work': { mode: 0o777 } },
        delete: ['/bin/vi'],
      },
    ],
    entrypoint: ['/usr/local/bin/hello'],
    cmd: ['one', 'two'],
    env: { GREETING: 'hello there' },
    workingDir: '/work',
    user: '65534',
    labels: { 'org.example.vnf': 'test' },
    exposedPorts: [8080, '5000/udp'],
  });
}, 60_000);

afterAll(() => temp.cleanup());

describe('interoperability', () => {
  it('skopeo inspects the layout', () => {
    const info = JSON.parse(run('skopeo', ['inspect', `oci:${image.layout}:hello`])) as {
      Digest: string;
      Env: string[];
      Labels: Record<string, string>;
      Layers: string[];
    };
    expect(info.Digest).toBe(image.digest);
    expect(info.Env).toContain('GREETING=hello there');
    expect(info.Env).toContain('PATH=/bin'); // from the base
    expect(info.Labels['org.example.vnf']).toBe('test');
    expect(info.Layers).toHaveLength(3);
  });

  it('umoci unpacks it with the expected files, modes, links and deletions', async () => {
    const bundle = join(work, 'bundle');
    run('umoci', ['unpack', '--image', `${image.layout}:hello`, bundle]);
    const rootfs = join(bundle, 'rootfs');
    expect((await stat(join(rootfs, 'usr/local/bin/hello'))).mode & 0o7777).toBe(0o755);
    expect(await readFile(join(rootfs, 'usr/local/bin/hello'), 'utf8')).toBe(HELLO);
    expect(await readlink(join(rootfs, 'usr/local/bin/hi'))).toBe('hello');
    expect(await readFile(join(rootfs, 'etc/hello.conf'), 'utf8')).toBe('from-content');
    expect((await stat(join(rootfs, 'work'))).mode & 0o7777).toBe(0o777);
    expect((await lstat(join(rootfs, 'bin/sh'))).isSymbolicLink()).toBe(true); // base content kept
    await expect(lstat(join(rootfs, 'bin/vi'))).rejects.toThrow(); // whiteout honoured
    const config = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as {
      process: { args: string[]; cwd: string; user: { uid: number } };
    };
    expect(config.process.args).toEqual(['/usr/local/bin/hello', 'one', 'two']);
    expect(config.process.cwd).toBe('/work');
    expect(config.process.user.uid).toBe(65534);
  });

  it('runs in Docker with entrypoint, cmd, env, workdir and user honoured', () => {
    requireTool('docker', DOCKER);
    const tag = `vnfpipe-test/hello:${process.pid}`;
    run('skopeo', ['copy', '-q', `oci:${image.layout}:hello`, `docker-daemon:${tag}`]);
    try {
      const out = run(DOCKER, ['run', '--rm', '--pull', 'never', '--network', 'none', tag]);
      expect(out.trim().split('\n')).toEqual([
        'args=one two',
        'greeting=hello there',
        'pwd=/work',
        'uid=65534',
        'conf=from-content',
        'vi=absent',
      ]);
      const other = run(DOCKER, ['run', '--rm', '--pull', 'never', '--network', 'none', tag, 'x']);
      expect(other.split('\n')[0]).toBe('args=x');
    } finally {
      try {
        run(DOCKER, ['rmi', '-f', tag]);
      } catch {
        // best effort
      }
    }
  });
});
