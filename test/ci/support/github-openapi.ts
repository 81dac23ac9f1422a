/**
 * GitHub's published OpenAPI description, restricted to the operations vnfpipe calls: a vendored fixture
 * (test/ci/fixtures/github-openapi/, made by scripts/vendor-github-openapi.mjs from @octokit/openapi, MIT).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../support/project.js';

type Json = Record<string, unknown>;

export const OPENAPI_SUBSET = join(
  REPO_ROOT,
  'test',
  'ci',
  'fixtures',
  'github-openapi',
  'api.github.com.subset.json',
);

/** The OpenAPI document restricted to the operations vnfpipe uses, their parameters and request bodies. */
export async function githubOpenapiSubset(): Promise<Json> {
  return JSON.parse(readFileSync(OPENAPI_SUBSET, 'utf8')) as Json;
}
