/**
 * GitHub's published OpenAPI description (`api.github.com.json` from the `@octokit/openapi` package), fetched
 * once with `npm pack` and cached under the system temp folder. The package is ~385 MB unpacked, so only that
 * one file is extracted, and a subset with the operations vnfpipe calls is cached beside it.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const OPENAPI_VERSION = '23.0.2';

/** The operations vnfpipe's GitHub integration uses. */
export const USED_OPERATIONS = [
  'repos/get',
  'git/get-ref',
  'git/create-ref',
  'repos/get-content',
  'repos/create-or-update-file-contents',
  'pulls/list',
  'pulls/create',
  'pulls/update',
  'repos/create-deployment',
  'repos/create-deployment-status',
] as const;

type Json = Record<string, unknown>;

/** The OpenAPI document restricted to USED_OPERATIONS, their parameters and request bodies. */
export async function githubOpenapiSubset(): Promise<Json> {
  const dir = join(tmpdir(), `vnfpipe-octokit-openapi-${OPENAPI_VERSION}`);
  const subsetPath = join(dir, 'api.github.com.vnfpipe-subset.json');
  if (existsSync(subsetPath)) return JSON.parse(readFileSync(subsetPath, 'utf8')) as Json;
  mkdirSync(dir, { recursive: true });
  const full = join(dir, 'api.github.com.json');
  if (!existsSync(full)) {
    const work = join(dir, `pack-${process.pid}`);
    mkdirSync(work, { recursive: true });
    await run(
      'npm',
      ['pack', `@octokit/openapi@${OPENAPI_VERSION}`, '--silent', '--pack-destination', work],
      {
        timeout: 120_000,
      },
    );
    const tgz = readdirSync(work).find((name) => name.endsWith('.tgz'));
    if (!tgz) throw new Error('npm pack @octokit/openapi produced no tarball');
    await run('tar', ['-xzf', join(work, tgz), '-C', work, 'package/generated/api.github.com.json']);
    renameSync(join(work, 'package/generated/api.github.com.json'), full);
    rmSync(work, { recursive: true, force: true });
  }
  const subset = subsetOf(JSON.parse(readFileSync(full, 'utf8')) as Json, USED_OPERATIONS);
  const tmp = `${subsetPath}.${process.pid}`;
  writeFileSync(tmp, JSON.stringify(subset));
  renameSync(tmp, subsetPath);
  return subset;
}

/** Keeps the named operations (without their response schemas) and every component they reference. */
export function subsetOf(doc: Json, operations: readonly string[]): Json {
  const paths: Record<string, Json> = {};
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const [method, op] of Object.entries(item)) {
      const operation = op as Json;
      if (typeof operation !== 'object' || !operations.includes(operation.operationId as string)) continue;
      paths[path] ??= {};
      paths[path][method] = {
        operationId: operation.operationId,
        parameters: operation.parameters,
        requestBody: operation.requestBody,
        // Answers are the simulator's own; only what octokit sends is checked.
        responses: { default: { description: 'any' } },
      };
    }
  }
  const components = doc.components as Record<string, Record<string, unknown>>;
  const kept: Record<string, Record<string, unknown>> = {};
  const seen = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) for (const item of value) visit(item);
    else if (value && typeof value === 'object') {
      const ref = (value as Json).$ref;
      if (typeof ref === 'string' && ref.startsWith('#/components/') && !seen.has(ref)) {
        seen.add(ref);
        const [, , kind, name] = ref.split('/') as [string, string, string, string];
        kept[kind] ??= {};
        kept[kind][name] = components[kind]?.[name];
        visit(components[kind]?.[name]);
      }
      for (const item of Object.values(value)) visit(item);
    }
  };
  visit(paths);
  return { openapi: doc.openapi, info: doc.info, paths, components: kept };
}
