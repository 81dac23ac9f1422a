#!/usr/bin/env node
// Regenerates test/ci/fixtures/github-openapi/api.github.com.subset.json: the operations of GitHub's REST API
// that vnfpipe calls, cut from the OpenAPI description in the npm package @octokit/openapi (MIT licence).
// Usage: node scripts/vendor-github-openapi.mjs [--from <api.github.com.json>]
// Without --from, the pinned package version is fetched once with `npm pack` (~385 MB unpacked; only the one
// file is extracted). Tests read the small subset only and never reach a registry.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const PACKAGE = '@octokit/openapi';
const VERSION = '23.0.2';
/** The operations vnfpipe's GitHub integration calls (src/ci/github): add one here when it calls a new one. */
const USED_OPERATIONS = [
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
];

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(repo, 'test', 'ci', 'fixtures', 'github-openapi', 'api.github.com.subset.json');
const { values } = parseArgs({ options: { from: { type: 'string' } } });

function fullDescription() {
  if (values.from) return JSON.parse(readFileSync(values.from, 'utf8'));
  const work = mkdtempSync(join(tmpdir(), 'vnfpipe-openapi-'));
  try {
    execFileSync('npm', ['pack', `${PACKAGE}@${VERSION}`, '--silent', '--pack-destination', work], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const tgz = readdirSync(work).find((name) => name.endsWith('.tgz'));
    if (!tgz) throw new Error(`npm pack ${PACKAGE}@${VERSION} produced no tarball`);
    const file = 'package/generated/api.github.com.json';
    execFileSync('tar', ['-xzf', join(work, tgz), '-C', work, file, 'package/package.json']);
    const meta = JSON.parse(readFileSync(join(work, 'package/package.json'), 'utf8'));
    if (meta.version !== VERSION || meta.license !== 'MIT')
      throw new Error(`expected ${PACKAGE} ${VERSION} (MIT), got ${meta.version} (${meta.license})`);
    return JSON.parse(readFileSync(join(work, file), 'utf8'));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Keeps the named operations (without their response schemas) and every component they reference. */
function subsetOf(doc, operations) {
  const paths = {};
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (typeof operation !== 'object' || !operations.includes(operation.operationId)) continue;
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
  const missing = operations.filter(
    (id) => !Object.values(paths).some((item) => Object.values(item).some((op) => op.operationId === id)),
  );
  if (missing.length > 0) throw new Error(`operations not in the description: ${missing.join(', ')}`);
  const kept = {};
  const seen = new Set();
  const visit = (value) => {
    if (Array.isArray(value)) for (const item of value) visit(item);
    else if (value && typeof value === 'object') {
      const ref = value.$ref;
      if (typeof ref === 'string' && ref.startsWith('#/components/') && !seen.has(ref)) {
        seen.add(ref);
        const [, , kind, name] = ref.split('/');
        kept[kind] ??= {};
        kept[kind][name] = doc.components[kind]?.[name];
        visit(doc.components[kind]?.[name]);
      }
      for (const item of Object.values(value)) visit(item);
    }
  };
  visit(paths);
  const sorted = Object.fromEntries(
    Object.keys(kept)
      .sort()
      .map((kind) => [
        kind,
        Object.fromEntries(
          Object.keys(kept[kind])
            .sort()
            .map((n) => [n, kept[kind][n]]),
        ),
      ]),
  );
  return {
    openapi: doc.openapi,
    info: {
      ...doc.info,
      'x-vnfpipe-subset': `${PACKAGE}@${VERSION} (MIT), operations: ${operations.join(', ')}`,
    },
    paths,
    components: sorted,
  };
}

writeFileSync(out, `${JSON.stringify(subsetOf(fullDescription(), USED_OPERATIONS), null, 2)}\n`);
// In the repository's own JSON style, so `biome check` passes on the generated file.
execFileSync(
  process.execPath,
  [join(repo, 'node_modules/@biomejs/biome/bin/biome'), 'format', '--write', out],
  {
    stdio: 'ignore',
  },
);
process.stderr.write(`wrote ${out}\n`);
