import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { slsaProvenance } from '../../src/trust/attest.js';
import { builderIdOf, DEFAULT_BUILDER_ID, hashedInputs, sourceOf } from '../../src/trust/provenance.js';

const tmp = mkdtempSync(join(tmpdir(), 'vnfpipe-provenance-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('provenance facts', () => {
  it('takes source and builder from GitHub Actions variables', () => {
    const env = {
      GITHUB_SERVER_URL: 'https://github.example.test',
      GITHUB_REPOSITORY: 'acme/vfw',
      GITHUB_SHA: 'a'.repeat(40),
      GITHUB_WORKFLOW_REF: 'acme/vfw/.github/workflows/ci.yml@refs/heads/main',
    };
    expect(sourceOf(tmp, env)).toEqual({
      repository: 'https://github.example.test/acme/vfw',
      revision: 'a'.repeat(40),
    });
    expect(builderIdOf(env)).toBe(
      'https://github.example.test/acme/vfw/.github/workflows/ci.yml@refs/heads/main',
    );
    expect(builderIdOf({})).toBe(DEFAULT_BUILDER_ID);
  });

  it('falls back to the git checkout, without credentials from the remote URL', () => {
    const repo = join(tmp, 'repo');
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', stdio: 'pipe' }).trim();
    execFileSync('git', ['init', '-q', repo]);
    writeFileSync(join(repo, 'vfw.c'), 'int main(void) { return 0; }\n');
    git('add', '.');
    git('-c', 'user.name=t', '-c', 'user.email=t@example.test', 'commit', '-qm', 'init');
    git('remote', 'add', 'origin', 'https://user:hunter2@git.example.test/acme/vfw.git');
    const source = sourceOf(repo, {});
    expect(source).toEqual({
      repository: 'https://git.example.test/acme/vfw.git',
      revision: git('rev-parse', 'HEAD'),
    });
    expect(sourceOf(join(tmp), {})).toBeUndefined();
  });

  it('hashes input files and lists them with the source as resolved dependencies', async () => {
    writeFileSync(join(tmp, 'rules.conf'), 'allow udp 5000\n');
    const inputs = await hashedInputs(['rules.conf'], tmp);
    expect(inputs).toEqual([
      {
        name: 'rules.conf',
        digest: `sha256:${execFileSync('sha256sum', [join(tmp, 'rules.conf')], { encoding: 'utf8' }).split(' ')[0]}`,
      },
    ]);
    const predicate = slsaProvenance({
      builderId: DEFAULT_BUILDER_ID,
      pipeline: { path: 'vnfpipe.config.ts', digest: `sha256:${'b'.repeat(64)}` },
      source: { repository: 'https://git.example.test/acme/vfw.git', revision: 'c'.repeat(40) },
      inputs,
      startedOn: new Date('2026-01-01T00:00:00Z'),
      finishedOn: new Date('2026-01-01T00:02:00Z'),
    }) as { buildDefinition: { resolvedDependencies: unknown[] }; runDetails: unknown };
    expect(predicate.buildDefinition.resolvedDependencies).toEqual([
      { uri: 'git+https://git.example.test/acme/vfw.git', digest: { gitCommit: 'c'.repeat(40) } },
      { name: 'rules.conf', digest: { sha256: inputs[0]!.digest.slice(7) } },
    ]);
    expect(predicate.runDetails).toEqual({
      builder: { id: DEFAULT_BUILDER_ID },
      metadata: { startedOn: '2026-01-01T00:00:00.000Z', finishedOn: '2026-01-01T00:02:00.000Z' },
    });
  });
});
