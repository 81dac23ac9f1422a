/** `image.dockerfile()` in a pipeline: BuildKit's build lands as an ImageRef that a later step consumes. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { BASE_REF } from '../support/base-image.js';
import { busyboxInDocker, busyboxLayout, docker } from '../support/engine-images.js';
import { makeProject } from '../support/project.js';

const TOKEN = 'pipeline-secret-9f8e7d6c';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

let base: string;
beforeAll(() => {
  base = busyboxInDocker();
});

describe('image.dockerfile in a pipeline', () => {
  it('builds with a secret, hands the ImageRef on, and keeps the secret out of logs, journal and blobs', async () => {
    const project = makeProject({
      'app/Dockerfile': [
        `FROM ${base}`,
        'ARG FLAVOUR',
        'COPY conf.txt /etc/app.conf',
        // The value is checked by its length so neither the Dockerfile nor the history holds it.
        'RUN --mount=type=secret,id=token test "$(wc -c < /run/secrets/token)" -eq 24 && echo "flavour=$FLAVOUR" > /flavour',
        'CMD ["cat", "/flavour", "/etc/app.conf"]',
      ].join('\n'),
      'app/conf.txt': 'conf from context\n',
      'vnfpipe.config.ts': `import { definePipeline, exec, image, secret } from 'vnfpipe';
export default definePipeline('bk', (p) => {
  const img = p.step('app', image.dockerfile({
    context: 'app',
    buildArgs: { FLAVOUR: 'mint' },
    secrets: { token: secret('APP_TOKEN') },
  }));
  p.step('show', exec({ run: 'echo "next step got $REF"', env: { REF: img.out.ref } }));
});
`,
    });
    const result = await project.cli(['run'], { env: { APP_TOKEN: TOKEN } });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/RUN --mount=type=secret,id=token .* (completed|cached)/);
    expect(result.stdout).toContain('next step got oci:.vnfpipe/oci:app');

    const runDir = join(project.dir, '.vnfpipe');
    for (const file of filesUnder(runDir)) {
      const raw = readFileSync(file);
      const data = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
      expect(data.includes(TOKEN), file).toBe(false);
    }
    expect(result.stdout + result.stderr).not.toContain(TOKEN);

    const out = execFileSync('skopeo', ['inspect', '--config', `oci:${join(runDir, 'oci')}:app`], {
      encoding: 'utf8',
    });
    expect(JSON.parse(out).config.Cmd).toEqual(['cat', '/flavour', '/etc/app.conf']);
  });
});

describe('image.build mixing native layers with image.run', () => {
  it('builds files, a RUN with a secret and cache mount, then more files, and the image runs', async () => {
    const word = `w${Date.now().toString(36)}`;
    const project = makeProject({
      'files/greet.sh': '#!/bin/sh\ncat /etc/greeting /ran.txt\n',
      'vnfpipe.config.ts': `import { definePipeline, image, secret } from 'vnfpipe';
export default definePipeline('mixed', (p) => {
  p.step('img', image.build({
    from: ${JSON.stringify(`oci:${busyboxLayout()}:${BASE_REF}`)},
    layers: [
      image.content({ '/etc/greeting': 'hello from a file layer\\n' }),
      image.run('test "$(cat /run/secrets/tok)" = "$EXPECTED" && echo "ran ${word}" > /ran.txt', {
        env: { EXPECTED: 'mixed-secret-1234' },
        mounts: [{ type: 'secret', id: 'tok', value: secret('TOK') }, { type: 'cache', target: '/var/cache/x' }],
      }),
      image.files({ 'files/greet.sh': '/usr/local/bin/greet' }, { mode: 0o755 }),
    ],
    cmd: ['/usr/local/bin/greet'],
  }));
});
`,
    });
    const result = await project.cli(['run'], { env: { TOK: 'mixed-secret-1234' } });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const layout = join(project.dir, '.vnfpipe', 'oci');
    const tag = `vnfpipe-test/bk-mixed:${word}`;
    execFileSync('skopeo', ['copy', '-q', `oci:${layout}:img`, `docker-daemon:${tag}`], { stdio: 'ignore' });
    try {
      expect(docker('run', '--rm', tag)).toBe(`hello from a file layer\nran ${word}`);
    } finally {
      docker('image', 'rm', tag);
    }
    const refs = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')).manifests.map(
      (m: { annotations: Record<string, string> }) => m.annotations['org.opencontainers.image.ref.name'],
    );
    expect(refs).toEqual(['img']);
  });
});
