#!/usr/bin/env node
// vnfpipe's benchmarks. Each suite in bench/suites/ times vnfpipe and reports ratios to anchors measured in
// the same run on the same machine (../shared/bench/anchors.sh and plain `node -e 0`), never absolute goals.
// Usage: npm run bench [-- --suite startup --suite image --runs 5 --out bench-results.json]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    suite: { type: 'string', multiple: true },
    runs: { type: 'string', default: '5' },
    out: { type: 'string' },
    shared: { type: 'string', default: process.env.VNFPIPE_SHARED_BENCH ?? resolve(repo, '../shared/bench') },
  },
});
const runs = Number(values.runs);
const sharedBench = values.shared;
const log = (line) => process.stderr.write(`bench: ${line}\n`);

const available = readdirSync(join(repo, 'bench', 'suites'))
  .filter((f) => f.endsWith('.mjs'))
  .map((f) => f.slice(0, -4))
  .sort();
const chosen = values.suite ?? available;
for (const name of chosen)
  if (!available.includes(name)) throw new Error(`unknown suite ${name}; have: ${available.join(', ')}`);
const all = await Promise.all(
  available.map(async (name) => ({ name, ...(await import(join(repo, 'bench', 'suites', `${name}.mjs`))) })),
);
const suites = all.filter((suite) => chosen.includes(suite.name));

// Suites that compare against anchors time the shared reference workload: it is not part of this
// repository (the tests never use it), so say plainly what is missing and how to go on without it.
const needShared = suites.filter((suite) => suite.needsAnchors).map((suite) => suite.name);
const missing = ['anchors.sh', 'make-base.sh', 'make-workload.mjs'].filter(
  (file) => !existsSync(join(sharedBench, file)),
);
if (needShared.length > 0 && missing.length > 0) {
  process.stderr.write(
    `bench: the shared benchmark workload is missing: no ${missing.join(', ')} in ${sharedBench}\n` +
      `bench: suites ${needShared.join(', ')} time vnfpipe against it. Put the shared folder beside the ` +
      'repository (../shared/bench), pass --shared <dir> or set VNFPIPE_SHARED_BENCH, or run only the ' +
      `suites that need no workload: ${all
        .filter((suite) => !suite.needsAnchors)
        .map((suite) => `--suite ${suite.name}`)
        .join(' ')}\n`,
  );
  process.exit(2);
}
const workDir = mkdtempSync(join(tmpdir(), 'vnfpipe-bench-'));

/**
 * Image ids in the Docker engine that are not the anchors' own (`vnfbench/app:*`, which the anchors re-tag
 * and so may untag); none when no engine answers.
 */
function engineImages() {
  const out = spawnSync(
    '/usr/bin/docker',
    ['images', '-a', '--no-trunc', '--format', '{{.ID}} {{.Repository}}'],
    {
      encoding: 'utf8',
    },
  );
  if (out.status !== 0) return new Set();
  const ids = out.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' '));
  const anchors = new Set(ids.filter(([, repo]) => repo === 'vnfbench/app').map(([id]) => id));
  return new Set(ids.map(([id]) => id).filter((id) => !anchors.has(id)));
}

/**
 * The `docker build` anchors tag each cold build's image with the same name, so every run leaves the previous
 * ones untagged (180 MB each). Removes the untagged images that appeared since `before` or were the anchors'
 * own then — only those.
 */
function removeUntaggedSince(before) {
  const out = spawnSync('/usr/bin/docker', ['images', '-q', '--no-trunc', '--filter', 'dangling=true'], {
    encoding: 'utf8',
  });
  if (out.status !== 0) return;
  const left = out.stdout.split('\n').filter((id) => id && !before.has(id));
  if (left.length) spawnSync('/usr/bin/docker', ['image', 'rm', ...left], { stdio: 'ignore' });
}

// Anchors run once, only when a chosen suite compares against them.
const anchors = {};
if (needShared.length > 0) {
  log(`timing anchors (${runs} runs each) with ${join(sharedBench, 'anchors.sh')}`);
  const imagesBefore = engineImages();
  const result = spawnSync(
    'bash',
    [join(sharedBench, 'anchors.sh'), join(workDir, 'anchors'), String(runs)],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  removeUntaggedSince(imagesBefore);
  if (result.status !== 0) throw new Error(`anchors.sh failed with exit code ${result.status}`);
  for (const line of result.stdout.trim().split('\n')) {
    const row = JSON.parse(line);
    if (row.median_s !== undefined) anchors[row.name] = row.median_s * 1000;
  }
  log(`anchors (median ms): ${JSON.stringify(anchors)}`);
}

const rows = [];
for (const suite of suites) {
  log(`suite ${suite.name}`);
  const suiteDir = join(workDir, suite.name);
  for (const row of await suite.run({ workDir: suiteDir, sharedBench, anchors, runs, repo, log }))
    rows.push({ suite: suite.name, ...row });
}

const table = rows.map((row) => {
  const ratio = row.ratio ? `${row.ratio.value.toFixed(2)}× ${row.ratio.anchor}` : '';
  const measured = row.unit
    ? `${row.value.toFixed(1).padStart(7)} ${row.unit}`
    : `${String(Math.round(row.medianMs ?? 0)).padStart(7)} ms`;
  return `${row.suite.padEnd(9)} ${row.name.padEnd(28)} ${measured}  ${ratio}${row.note ? `  (${row.note})` : ''}`;
});
process.stdout.write(`${table.join('\n')}\n`);
const report = { date: new Date().toISOString(), runs, anchors, rows };
if (values.out) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
