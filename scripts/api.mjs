#!/usr/bin/env node
/**
 * The public API's report and reference, from the built .d.ts files (run `npm run build` first):
 *   node scripts/api.mjs           writes api/<entry>.api.md (the reviewed surface, committed) and the
 *                                  reference docs/api/*.md (generated, not committed)
 *   node scripts/api.mjs --check   exits 1 with a diff when the report differs from the committed one (CI)
 * One API Extractor run per entry in package.json `exports`; API Documenter renders the reference.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'vnfpipe-api-'));
const models = join(work, 'models');
mkdirSync(models);
const reportDir = join(root, 'api');
const reportTemp = join(work, 'report-temp');
mkdirSync(reportDir, { recursive: true });

const entries = Object.entries(pkg.exports)
  .filter(([, target]) => typeof target === 'object' && target.types)
  .map(([subpath, target]) => ({
    name: subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`,
    types: join(root, target.types),
  }));

let failed = false;
for (const entry of entries) {
  const slug = entry.name.replace('/', '-');
  const configObject = {
    projectFolder: root,
    mainEntryPointFilePath: entry.types,
    compiler: {
      overrideTsconfig: {
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2023'],
          types: ['node'],
          skipLibCheck: true,
          strict: true,
        },
        files: [entry.types],
      },
    },
    apiReport: {
      enabled: true,
      reportFolder: reportDir,
      reportTempFolder: reportTemp,
      reportFileName: `${slug}.api.md`,
    },
    docModel: { enabled: true, apiJsonFilePath: join(models, `${slug}.api.json`) },
    dtsRollup: { enabled: false },
    tsdocMetadata: { enabled: false },
    messages: {
      compilerMessageReporting: { default: { logLevel: 'warning' } },
      extractorMessageReporting: {
        default: { logLevel: 'none' },
        'ae-wrong-input-file-type': { logLevel: 'error' },
      },
      tsdocMessageReporting: { default: { logLevel: 'none' } },
    },
  };
  const config = ExtractorConfig.prepare({
    configObject,
    configObjectFullPath: join(root, 'api-extractor.json'),
    packageJsonFullPath: join(root, 'package.json'),
    // Package names cannot hold a '/': the model is vnfpipe-oci; the reference's text says vnfpipe/oci.
    packageJson: { ...pkg, name: slug },
  });
  const result = Extractor.invoke(config, { localBuild: !check, showVerboseMessages: false });
  if (check && result.apiReportChanged) {
    failed = true;
    const file = `${slug}.api.md`;
    let diff = '';
    try {
      execFileSync('diff', ['-u', join(reportDir, file), join(reportTemp, file)], { stdio: 'pipe' });
    } catch (error) {
      diff = String(error.stdout ?? '');
    }
    console.error(
      `${entry.name}: the public API changed: run npm run api, review and commit api/${file}\n${diff}`,
    );
  } else if (!result.succeeded) {
    failed = true;
    console.error(`${entry.name}: API Extractor failed (${result.errorCount} errors)`);
  }
}

if (!check) {
  // The sources say `@default` (as editors show it); API Documenter renders TSDoc's `@defaultValue`.
  for (const file of readdirSync(models)) {
    const path = join(models, file);
    writeFileSync(path, readFileSync(path, 'utf8').replace(/@default(?=[\s\\])/g, '@defaultValue'));
  }
  // The reference: one Markdown page per entry and item, linked, in docs/api (generated, not committed).
  const docsOut = join(root, 'docs', 'api');
  rmSync(docsOut, { recursive: true, force: true });
  const documenter = join(root, 'node_modules', '@microsoft', 'api-documenter', 'bin', 'api-documenter');
  execFileSync(process.execPath, [documenter, 'markdown', '-i', models, '-o', docsOut], { stdio: 'pipe' });
  // Entries are subpaths of one package: `vnfpipe/oci`, not a package `vnfpipe-oci`.
  for (const file of readdirSync(docsOut)) {
    let text = readFileSync(join(docsOut, file), 'utf8');
    for (const { name } of entries.filter((e) => e.name.includes('/'))) {
      const slug = name.replace('/', '-');
      text = text.replaceAll(`[${slug}](`, `[${name}](`).replaceAll(`${slug} package`, `${name} entry`);
    }
    writeFileSync(join(docsOut, file), text);
  }
}
rmSync(work, { recursive: true, force: true });
if (failed) process.exit(1);
console.log(
  check ? 'the API report is current' : `wrote api/*.api.md and docs/api/ for ${entries.length} entries`,
);
