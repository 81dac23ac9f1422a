#!/usr/bin/env node
// Bundles the CLI and every public entry of the package into dist/bundle/ (run by `npm run build`, after tsc).
//
// Why: Node 20 pays for each ES module it resolves, reads and links (≈0.5 ms each), and `vnfpipe plan` used
// to load about 70 of them. All entries are built in one esbuild run with code splitting, so each module
// exists once (a `VnfpipeError` thrown by the pipeline's `vnfpipe` import is the CLI's `VnfpipeError`), and
// the lazy `import()`s of commands and engines stay lazy, as chunks. The per-file output of tsc stays in
// dist/ beside it for the type declarations and for scripts that import deep paths.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The entries: package.json `exports` (and the CLI) point at dist/bundle/<name>.js. */
const entryPoints = {
  cli: 'src/cli/main.ts',
  index: 'src/index.ts',
  oci: 'src/oci/index.ts',
  image: 'src/image/index.ts',
  registry: 'src/registry/index.ts',
  scan: 'src/scan/api.ts',
  deploy: 'src/deploy/index.ts',
  trust: 'src/trust/index.ts',
  ci: 'src/ci/index.ts',
  bundle: 'src/fleet/bundle/index.ts',
  verify: 'src/verify/index.ts',
};

/**
 * Packages bundled in; every other package is imported from node_modules. Small, dependency-free ones on the
 * start-up path, and the gRPC stack of the BuildKit client: connect and protobuf-es are about 55 files, and
 * loading them one by one cost a Dockerfile build ≈ 130 ms of its start-up (a warm build: ≈ 720 → 615 ms).
 * They land in the lazy chunk of the BuildKit client, so no other command loads them.
 */
const BUNDLED = new Set([
  'commander',
  'tinyglobby',
  'fdir',
  'picomatch',
  '@connectrpc/connect',
  '@connectrpc/connect-node',
  '@bufbuild/protobuf',
]);
const packageOf = (specifier) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

// Chunk names carry content hashes: clear the folder so no stale chunk stays behind.
rmSync(join(root, 'dist', 'bundle'), { recursive: true, force: true });
const { outputFiles } = await build({
  absWorkingDir: root,
  entryPoints,
  outdir: 'dist/bundle',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  plugins: [
    {
      name: 'external-packages',
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (args) => {
          if (args.path.startsWith('node:') || !BUNDLED.has(packageOf(args.path)))
            return { path: args.path, external: true };
          return undefined;
        });
      },
    },
  ],
  logLevel: 'warning',
  write: false,
});
for (const file of outputFiles) {
  mkdirSync(dirname(file.path), { recursive: true });
  writeFileSync(file.path, withRequire(file.text));
}

/**
 * Bundled CommonJS packages (commander, picomatch) call require() for Node's built-ins, which an ES module
 * lacks: the files that use it get one. Only those: every other chunk would pay for a `createRequire` and
 * for `import.meta` on each start.
 */
function withRequire(code) {
  if (!/\brequire\b/.test(code)) return code;
  return `import { createRequire as __vnfpipeRequire } from 'node:module';\nconst require = __vnfpipeRequire(import.meta.url);\n${code}`;
}
process.stderr.write(`bundled ${Object.keys(entryPoints).length} entries into ${join('dist', 'bundle')}\n`);
