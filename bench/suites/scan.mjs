// Scan speed: `vnfpipe scan` of the Debian bookworm minbase image (debootstrap, cached per day in the temp dir)
// against a generated OSV database of 50,000+ records, as a ratio to just reading the image's layers once
// (gunzip + tar parse with the `tar` package, bodies discarded) timed in the same run. Each measurement is a
// fresh child process (its peak RSS is reported). Imports the compiled scanner from dist/.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { median } from './util.mjs';

export const needsAnchors = false;

/** Runs a script in a child node; the script prints one JSON line { ms, rss, ... }. */
function child(script, cwd) {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (result.status !== 0) throw new Error(`bench child failed (${result.status}): ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop());
}

/** Bundles the test helper that builds the minbase image (TypeScript) with esbuild, and runs it. */
async function minbase(repo, workDir) {
  const { build } = await import('esbuild');
  const out = join(workDir, 'minbase.mjs');
  await build({
    entryPoints: [join(repo, 'test', 'scan', 'support', 'minbase.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: out,
    logLevel: 'error',
  });
  const { ensureMinbase } = await import(pathToFileURL(out).href);
  const got = await ensureMinbase();
  if ('unavailable' in got) throw new Error(`cannot build the minbase image: ${got.unavailable}`);
  return got;
}

/** 50,000+ Debian:12 records: a few per real source package of the image (fixed below and above its version), the rest spread over made-up names. */
function generateOsv(dir, sources, count) {
  mkdirSync(dir, { recursive: true });
  let n = 0;
  let batch = [];
  let file = 0;
  const flush = () => {
    writeFileSync(join(dir, `batch-${file++}.json`), JSON.stringify(batch));
    batch = [];
  };
  const record = (name, events) => ({
    id: `BENCH-${++n}`,
    modified: '2026-01-01T00:00:00Z',
    aliases: [`CVE-2099-${n}`],
    summary: `generated advisory ${n} for ${name}`,
    severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
    affected: [{ package: { ecosystem: 'Debian:12', name }, ranges: [{ type: 'ECOSYSTEM', events }] }],
  });
  for (const [name, version] of sources) {
    for (let i = 0; i < 20; i++)
      batch.push(
        record(name, [{ introduced: '0' }, { fixed: i % 2 ? `${version}+deb12u${100 + i}` : `0.${i}` }]),
      );
  }
  while (n < count) {
    batch.push(record(`gen-package-${n % 9000}`, [{ introduced: '0' }, { fixed: `1.${n % 97}-${n % 7}` }]));
    if (batch.length >= 2000) flush();
  }
  if (batch.length) flush();
  return n;
}

export async function run({ workDir, repo, log, runs }) {
  mkdirSync(workDir, { recursive: true });
  const image = await minbase(repo, workDir);
  log(`image ${image.ref}`);
  const sources = spawnSync(
    'dpkg-query',
    [
      '-W',
      `--admindir=${join(image.rootfs, 'var/lib/dpkg')}`,
      '-f',
      // dpkg-query's own field syntax, not a template string.
      ['source:Package', 'source:Version'].map((f) => `$\{${f}}`).join('\t') + '\n',
    ],
    { encoding: 'utf8' },
  )
    .stdout.trim()
    .split('\n')
    .map((l) => l.split('\t'));
  const unique = [...new Map(sources.map(([n, v]) => [n, [n, v]])).values()];
  const osvDir = join(workDir, 'osv');
  const records = generateOsv(osvDir, unique, 50_000);
  const db = join(workDir, 'db');
  const dist = (p) => pathToFileURL(join(repo, 'dist', p)).href;
  const imported = child(
    `const { importOsv } = await import(${JSON.stringify(dist('scan/db/store.js'))});
     const t = performance.now(); const r = await importOsv(${JSON.stringify(db)}, [${JSON.stringify(osvDir)}]);
     console.log(JSON.stringify({ ms: performance.now() - t, rss: process.resourceUsage().maxRSS, records: r.records }));`,
    repo,
  );
  log(`imported ${imported.records} generated records in ${Math.round(imported.ms)} ms`);

  const readScript = `
    const { createReadStream, readFileSync } = await import('node:fs');
    const { createGunzip } = await import('node:zlib');
    const { Parser } = await import(${JSON.stringify(pathToFileURL(join(repo, 'node_modules', 'tar', 'dist', 'esm', 'index.js')).href)});
    const layout = ${JSON.stringify(image.layout)};
    const index = JSON.parse(readFileSync(layout + '/index.json', 'utf8'));
    const t = performance.now();
    const manifest = JSON.parse(readFileSync(layout + '/blobs/sha256/' + index.manifests[0].digest.slice(7), 'utf8'));
    let entries = 0;
    for (const layer of manifest.layers) {
      await new Promise((ok, fail) => {
        const parser = new Parser({ onReadEntry: (e) => { entries++; e.resume(); } });
        parser.on('end', ok); parser.on('error', fail);
        createReadStream(layout + '/blobs/sha256/' + layer.digest.slice(7)).pipe(createGunzip()).pipe(parser);
      });
    }
    console.log(JSON.stringify({ ms: performance.now() - t, rss: process.resourceUsage().maxRSS, entries }));`;
  const scanScript = `
    const { scanImage } = await import(${JSON.stringify(dist('scan/scanner.js'))});
    const t = performance.now();
    const r = await scanImage(${JSON.stringify(image.ref)}, { db: ${JSON.stringify(db)} });
    if (r.gaps.length) throw new Error('partial scan: ' + JSON.stringify(r.gaps));
    console.log(JSON.stringify({ ms: performance.now() - t, rss: process.resourceUsage().maxRSS, packages: r.packages.length, vulns: r.vulnerabilities.length }));`;
  child(readScript, repo); // warm the page cache
  const reads = [];
  const scans = [];
  const n = Math.max(3, runs);
  for (let i = 0; i < n; i++) {
    reads.push(child(readScript, repo));
    scans.push(child(scanScript, repo));
  }
  const readMs = median(reads.map((r) => r.ms));
  const scanMs = median(scans.map((r) => r.ms));
  const mib = (kb) => `${Math.round(kb / 1024)} MiB`;
  return [
    {
      name: 'read layers (gunzip+untar)',
      medianMs: readMs,
      note: `${reads[0].entries} entries, peak RSS ${mib(Math.max(...reads.map((r) => r.rss)))}`,
    },
    {
      name: 'scan minbase, 50k OSV records',
      medianMs: scanMs,
      ratio: { anchor: 'read layers (gunzip+untar)', value: scanMs / readMs },
      note: `goal ≤ 1.5×; ${scans[0].packages} packages, ${scans[0].vulns} findings, peak RSS ${mib(Math.max(...scans.map((r) => r.rss)))}`,
    },
    {
      name: 'db import (50k records)',
      medianMs: imported.ms,
      note: `${records} records, one run, peak RSS ${mib(imported.rss)}`,
    },
  ];
}
