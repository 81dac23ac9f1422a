/**
 * Dockerfile builds through our client against the engine's embedded BuildKit, into an OCI layout.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDockerfile } from '../../src/buildkit/dockerfile.js';
import type { VertexEvent } from '../../src/buildkit/solve.js';
import { busyboxInDocker, docker } from '../support/engine-images.js';

const SECRET = 'hunter2-very-secret-value';

let base: string;
beforeAll(() => {
  base = busyboxInDocker();
});

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-bk-ctx-'));
  for (const [path, content] of Object.entries(files)) {
    const full = join(dir, path);
    execFileSync('mkdir', ['-p', join(full, '..')]);
    writeFileSync(full, content);
  }
  return dir;
}

function allBlobs(layout: string): Buffer[] {
  const dir = join(layout, 'blobs', 'sha256');
  return readdirSync(dir).map((name) => {
    const data = readFileSync(join(dir, name));
    return data[0] === 0x1f && data[1] === 0x8b ? gunzipSync(data) : data;
  });
}

describe('Dockerfile build through BuildKit', () => {
  it('builds ARG, RUN, COPY with .dockerignore, a secret mount and CMD into a layout that runs', async () => {
    const context = project({
      Dockerfile: [
        `FROM ${base}`,
        'ARG GREETING=hello',
        'RUN echo "$GREETING from run" > /run-output.txt',
        'COPY app/ /app/',
        'RUN --mount=type=secret,id=token test "$(cat /run/secrets/token)" = "' +
          SECRET.slice(0, 7) +
          '$(echo -n)' +
          SECRET.slice(7) +
          '" && echo secret-ok > /secret-check.txt',
        'CMD ["sh", "-c", "cat /run-output.txt /app/hello.txt /secret-check.txt"]',
      ].join('\n'),
      '.dockerignore': 'app/*.log\napp/private\n',
      'app/hello.txt': 'copied file\n',
      'app/debug.log': 'ignored log\n',
      'app/private/key': 'ignored key\n',
    });
    const layout = join(mkdtempSync(join(tmpdir(), 'vnfpipe-bk-layout-')), 'oci');
    const vertexes: VertexEvent[] = [];
    const logs: string[] = [];
    const built = await buildDockerfile({
      context,
      buildArgs: { GREETING: 'bonjour' },
      secrets: { token: SECRET },
      layout,
      name: 'app',
      noCache: true,
      listener: {
        onVertex: (v) => vertexes.push(v),
        onLog: (l) => logs.push(l.line),
      },
    });
    expect(built.ref).toBe(`oci:${layout}:app`);
    expect(built.digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    // Vertexes come with their state and BuildKit's timing.
    const run = vertexes.find(
      (v) => v.name === '[2/4] RUN echo "bonjour from run" > /run-output.txt' && v.state === 'completed',
    );
    expect(run?.durationMs).toBeGreaterThanOrEqual(0);
    expect(vertexes.some((v) => v.state === 'started')).toBe(true);

    const bundle = join(mkdtempSync(join(tmpdir(), 'vnfpipe-bk-unpack-')), 'bundle');
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${layout}:app`, bundle], { stdio: 'ignore' });
    const rootfs = join(bundle, 'rootfs');
    expect(readFileSync(join(rootfs, 'run-output.txt'), 'utf8')).toBe('bonjour from run\n');
    expect(readFileSync(join(rootfs, 'app/hello.txt'), 'utf8')).toBe('copied file\n');
    expect(readFileSync(join(rootfs, 'secret-check.txt'), 'utf8')).toBe('secret-ok\n');
    expect(readdirSync(join(rootfs, 'app'))).toEqual(['hello.txt']);
    await mkdir(join(rootfs, 'run', 'secrets'), { recursive: true });
    expect(readdirSync(join(rootfs, 'run', 'secrets'))).toEqual([]);

    for (const blob of allBlobs(layout)) expect(blob.includes(SECRET)).toBe(false);
    expect(logs.join('\n')).not.toContain(SECRET);
    expect(JSON.stringify(vertexes)).not.toContain(SECRET);

    const tag = `vnfpipe-test/bk-app:${built.digest.slice(7, 19)}`;
    execFileSync('skopeo', ['copy', '-q', `oci:${layout}:app`, `docker-daemon:${tag}`], { stdio: 'ignore' });
    try {
      expect(docker('run', '--rm', tag)).toBe('bonjour from run\ncopied file\nsecret-ok');
    } finally {
      docker('image', 'rm', tag);
    }
  });
});

describe('cancelling a Dockerfile build', () => {
  it('stops BuildKit when the signal aborts during a RUN', async () => {
    const context = project({ Dockerfile: `FROM ${base}\nRUN echo started-${Math.random()} && sleep 600\n` });
    const abort = new AbortController();
    const build = buildDockerfile({
      context,
      layout: join(context, 'oci'),
      name: 'x',
      signal: abort.signal,
      listener: {
        onLog: (l) => {
          if (l.line.startsWith('started-')) abort.abort();
        },
      },
    });
    await expect(build).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});

describe('rebuilding into the same layout', () => {
  it('gives the same image when BuildKit answers from its cache', async () => {
    const context = project({
      Dockerfile: `FROM ${base}\nCOPY data.txt /data.txt\nRUN wc -c /data.txt > /size\n`,
      'data.txt': `${'x'.repeat(100_000)}\n`,
    });
    const layout = join(context, 'oci');
    const first = await buildDockerfile({ context, layout, name: 'one' });
    const second = await buildDockerfile({ context, layout, name: 'two' });
    expect(second.digest).toBe(first.digest);
    const bundle = join(mkdtempSync(join(tmpdir(), 'vnfpipe-bk-warm-')), 'b');
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${layout}:two`, bundle], { stdio: 'ignore' });
    expect(readFileSync(join(bundle, 'rootfs', 'size'), 'utf8')).toBe('100001 /data.txt\n');
  });

  it('sends a context of several multi-MiB files at once (flow control), and the tar export has each byte', async () => {
    // 24 MiB in six files: more than the sender keeps in flight, with files interleaved on the stream.
    const context = mkdtempSync(join(tmpdir(), 'vnfpipe-bk-big-'));
    const sums: Record<string, string> = {};
    for (let i = 0; i < 6; i++) {
      const data = randomBytes(4 * 1024 * 1024);
      writeFileSync(join(context, `part-${i}.bin`), data);
      sums[`data/part-${i}.bin`] = createHash('sha256').update(data).digest('hex');
    }
    writeFileSync(join(context, 'Dockerfile'), 'FROM scratch\nCOPY part-*.bin /data/\n');
    const tarFile = join(context, 'rootfs.tar');
    // What an export to the same file killed midway left is removed; a live writer's temp is not.
    const orphan = join(context, `.rootfs.tar.vnfpipe-${spawnSync('true').pid}-0123abcd`);
    const liveTemp = join(context, `.rootfs.tar.vnfpipe-${process.ppid}-0123abcd`);
    writeFileSync(orphan, 'partial');
    writeFileSync(liveTemp, 'partial');
    const built = await buildDockerfile({ context, tarFile, noCache: true });
    expect(built).toMatchObject({ tarFile });
    expect(existsSync(orphan)).toBe(false);
    expect(existsSync(liveTemp)).toBe(true);
    for (const [member, sum] of Object.entries(sums)) {
      const bytes = execFileSync('tar', ['-xOf', tarFile, member], { maxBuffer: 8 * 1024 * 1024 });
      expect(createHash('sha256').update(bytes).digest('hex'), member).toBe(sum);
    }
  });
});
