import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DockerEngine } from '../../src/deploy/engine/client.js';
import { VnfpipeError } from '../../src/errors.js';
import { REPO_ROOT } from '../support/project.js';

describe('hints for users installed from npm', () => {
  it('never point at scripts of this repository, which the npm package does not ship', () => {
    const src = join(REPO_ROOT, 'src');
    const offenders: string[] = [];
    for (const entry of readdirSync(src, { recursive: true }) as string[]) {
      if (!entry.endsWith('.ts')) continue;
      const text = readFileSync(join(src, entry), 'utf8');
      text.split('\n').forEach((line, i) => {
        if (/scripts\/[\w.-]+\.(sh|mjs|js)/.test(line)) offenders.push(`src/${entry}:${i + 1}`);
      });
    }
    expect(offenders).toEqual([]);
  });

  it('an unreachable Docker engine hints at installing and starting Docker', async () => {
    const engine = new DockerEngine({
      socketPath: join(tmpdir(), `no-engine-${process.pid}.sock`),
      display: 'unix:///nowhere',
    });
    const error = await engine.call({ path: '/_ping' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VnfpipeError);
    expect((error as VnfpipeError).hint).toContain('apt-get install docker.io');
    expect((error as VnfpipeError).hint).toContain('dockerd');
  });
});
