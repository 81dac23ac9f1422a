/**
 * What a SLSA provenance can say about a pipeline run, gathered at attest time: the pipeline file and its
 * digest, the source repository and revision (CI variables, else git), the base image the pushed manifest
 * names in its `org.opencontainers.image.base.*` annotations, hashed input files, and the run's times.
 */
import { execFileSync } from 'node:child_process';
import { join, relative, resolve } from 'node:path';
import { Annotation } from '../oci/annotations.js';
import type { Digest } from '../oci/digest.js';
import { isDigest } from '../oci/digest.js';
import { parseManifest } from '../oci/manifest.js';
import { expandGlobs } from '../pipeline/globs.js';
import { hashFile } from '../pipeline/hash.js';
import { readRun } from '../pipeline/journal.js';
import type { StepContext } from '../pipeline/model.js';
import type { RegistryClient } from '../registry/client.js';
import type { ProvenanceInput } from './attest.js';

type Env = Readonly<Record<string, string | undefined>>;

export { builderIdOf, DEFAULT_BUILDER_ID } from './revision.js';

/** The source repository and revision: GitHub or GitLab CI variables, else the git checkout (when any). */
export function sourceOf(cwd: string, env: Env): ProvenanceInput['source'] {
  if (env.GITHUB_REPOSITORY && env.GITHUB_SHA)
    return {
      repository: `${env.GITHUB_SERVER_URL ?? 'https://github.com'}/${env.GITHUB_REPOSITORY}`,
      revision: env.GITHUB_SHA,
    };
  if (env.CI_PROJECT_URL && env.CI_COMMIT_SHA)
    return { repository: env.CI_PROJECT_URL, revision: env.CI_COMMIT_SHA };
  const git = (args: string[]) => {
    try {
      return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return undefined;
    }
  };
  const revision = git(['rev-parse', 'HEAD']);
  if (!revision) return undefined;
  // Credentials embedded in a remote URL (https://user:token@host) never go into an attestation.
  const remote = git(['remote', 'get-url', 'origin'])?.replace(/\/\/[^/@]*@/, '//');
  return { repository: remote ?? `file://${cwd}`, revision };
}

/** The base image an image's manifest names (annotations the builder writes). */
export async function baseImageOf(
  client: RegistryClient,
  repository: string,
  digest: Digest,
): Promise<ProvenanceInput['baseImage']> {
  const fetched = await client.getManifest(repository, digest);
  if (!fetched.mediaType.includes('manifest')) return undefined;
  const annotations = parseManifest(fetched.bytes, undefined, fetched.mediaType).annotations ?? {};
  const baseDigest = annotations[Annotation.baseDigest];
  if (!isDigest(baseDigest)) return undefined;
  return { reference: annotations[Annotation.baseName] ?? 'unknown', digest: baseDigest };
}

export async function hashedInputs(patterns: readonly string[], cwd: string) {
  const files = await expandGlobs([...patterns], cwd);
  return Promise.all(
    files.map(async (name) => ({ name, digest: `sha256:${await hashFile(join(cwd, name))}` as Digest })),
  );
}

/** The pipeline file and the run's start, from the run journal (when the step runs inside a run). */
export async function runFacts(ctx: StepContext): Promise<{ file?: string; startedOn?: Date }> {
  const record = await readRun(ctx.stateDir, ctx.runId).catch(() => undefined);
  if (!record) return {};
  const file = record.file ? relative(ctx.cwd, resolve(ctx.cwd, record.file)) : undefined;
  return { file, startedOn: new Date(record.startedAt) };
}
