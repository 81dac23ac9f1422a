import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { median, sh, startRegistry } from './util.mjs';

export const needsAnchors = true;

// What the push step costs inside a running pipeline: modules loaded, a fresh client per push.
const IN_PROCESS_SCRIPT = `
import { copyImage } from __COPY__;
const [dir, host, count] = process.argv.slice(2);
const push = () => copyImage({ transport: 'oci', dir, ref: 'app' }, { transport: 'registry', registry: host, repository: 'bench/app', tag: '1' });
await push();
const times = [];
for (let i = 0; i < Number(count); i++) {
  const start = performance.now();
  await push();
  times.push(performance.now() - start);
}
console.log(JSON.stringify(times));
`;

// mode 'stream': layers stream into the registry while compressed (what \`image build --tag <registry>\` and
// a pipeline's image step with publishTo do), then the push writes the manifest; 'sequential': build, then push.
const BUILD_PUSH_SCRIPT = `
import { buildImage } from __IMAGE__;
import { copyImage } from __COPY__;
import { registryPublisher } from __PUBLISH__;
const [context, stateDir, base, dest, mode, compression] = process.argv.slice(2);
const [host, ...rest] = dest.split('/');
const [repository, tag] = rest.join('/').split(':');
const publisher = mode === 'stream' ? registryPublisher({ registry: host, repository }) : undefined;
const built = await buildImage({
  context, stateDir, name: 'app', from: 'oci:' + base + ':latest', publisher,
  compression: compression || undefined,
  layers: [{ files: { a: '/app/a' } }, { files: { b: '/app/b' } }, { files: { c: '/app/c' } }],
});
publisher?.close();
const pushed = await copyImage(
  { transport: 'oci', dir: built.layout, ref: built.digest },
  { transport: 'registry', registry: host, repository, tag },
);
console.log(JSON.stringify({ digest: pushed.digest, counts: publisher?.counts, uploaded: pushed.blobs.transferred }));
`;

function timed(command, args) {
  const start = process.hrtime.bigint();
  const out = sh(command, args);
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, out };
}

/** The image anchors.sh pushes: base + three `umoci insert` layers (reused from the anchors' work dir). */
function referenceImage(workDir, sharedBench, log) {
  const fromAnchors = resolve(workDir, '..', 'anchors');
  if (existsSync(join(fromAnchors, 'umoci', 'index.json')))
    return {
      layout: join(fromAnchors, 'umoci'),
      ctx: join(fromAnchors, 'ctx'),
      base: join(fromAnchors, 'base'),
    };
  log('building the reference image with umoci, as anchors.sh does');
  const ctx = join(workDir, 'ctx');
  const base = join(workDir, 'base');
  const layout = join(workDir, 'umoci');
  sh(process.execPath, [join(sharedBench, 'make-workload.mjs'), ctx]);
  sh('bash', [join(sharedBench, 'make-base.sh'), base]);
  cpSync(base, layout, { recursive: true });
  const H = ['--history.created', '2020-01-01T00:00:00Z'];
  sh('umoci', ['insert', ...H, '--image', `${layout}:latest`, '--tag', 'app', join(ctx, 'a'), '/app/a']);
  sh('umoci', ['insert', ...H, '--image', `${layout}:app`, join(ctx, 'b'), '/app/b']);
  sh('umoci', ['insert', ...H, '--image', `${layout}:app`, join(ctx, 'c'), '/app/c']);
  return { layout, ctx, base };
}

export async function run({ workDir, sharedBench, anchors, runs, repo, log }) {
  // The published command (bin → the bundle), as a user runs it: its start-up is part of a push.
  const cli = join(repo, 'bin', 'vnfpipe.js');
  if (!existsSync(join(repo, 'dist', 'bundle', 'cli.js')))
    throw new Error('dist is missing: run npm run build first');
  const n = Math.max(3, runs ?? 5);
  mkdirSync(workDir, { recursive: true });
  const image = referenceImage(workDir, sharedBench, log);
  const registry = await startRegistry(join(workDir, 'registry'));
  const src = `oci:${image.layout}:app`;
  const dest = `${registry.host}/bench/app:1`;
  const ours = (d) => timed(process.execPath, [cli, 'push', src, d]).ms;
  const skopeo = (d) => timed('skopeo', ['copy', '-q', '--dest-tls-verify=false', src, `docker://${d}`]).ms;
  const rows = [];
  try {
    ours(dest); // warm the page cache and the module cache like anchors' first run would
    const cold = [];
    const skopeoCold = [];
    for (let i = 0; i < n; i++) {
      registry.wipe();
      cold.push(ours(dest));
      registry.wipe();
      skopeoCold.push(skopeo(dest));
      log(`cold ${i + 1}: vnfpipe ${cold.at(-1).toFixed(0)} ms, skopeo ${skopeoCold.at(-1).toFixed(0)} ms`);
    }
    const warm = [];
    const skopeoWarm = [];
    for (let i = 0; i < Math.max(n, 10); i++) {
      warm.push(ours(dest));
      skopeoWarm.push(skopeo(dest));
    }
    const nodeStart = [];
    for (let i = 0; i < 10; i++) nodeStart.push(timed(process.execPath, ['-e', '0']).ms);
    log(
      `warm: vnfpipe ${median(warm).toFixed(0)} ms, skopeo ${median(skopeoWarm).toFixed(0)} ms, node -e 0 ${median(nodeStart).toFixed(0)} ms`,
    );
    const inProcessScript = join(workDir, 'in-process.mjs');
    writeFileSync(
      inProcessScript,
      IN_PROCESS_SCRIPT.replace('__COPY__', JSON.stringify(join(repo, 'dist', 'registry', 'copy.js'))),
    );
    const inProcess = JSON.parse(
      sh(process.execPath, [inProcessScript, image.layout, registry.host, String(Math.max(n, 10))]),
    );
    const ratio = (anchor, value) =>
      anchors[anchor] ? { anchor, value: value / anchors[anchor] } : undefined;
    rows.push(
      {
        name: 'push cold',
        medianMs: median(cold),
        ratio: ratio('skopeo_push_cold', median(cold)),
        note: `goal ≤ 1.0×; interleaved skopeo ${median(skopeoCold).toFixed(0)} ms`,
      },
      {
        name: 'push warm',
        medianMs: median(warm),
        ratio: ratio('skopeo_push_warm', median(warm)),
        note: `goal ≤ 1.5×; interleaved skopeo ${median(skopeoWarm).toFixed(0)} ms, node -e 0 ${median(nodeStart).toFixed(0)} ms`,
      },
      {
        name: 'push warm (in-process)',
        medianMs: median(inProcess),
        ratio: ratio('skopeo_push_warm', median(inProcess)),
        note: 'the push step inside a pipeline run: no process start-up, fresh client',
      },
    );

    const imageDist = join(repo, 'dist', 'image', 'index.js');
    if (existsSync(imageDist)) {
      const script = join(workDir, 'build-push.mjs');
      writeFileSync(
        script,
        BUILD_PUSH_SCRIPT.replace('__IMAGE__', JSON.stringify(imageDist))
          .replace('__COPY__', JSON.stringify(join(repo, 'dist', 'registry', 'copy.js')))
          .replace('__PUBLISH__', JSON.stringify(join(repo, 'dist', 'registry', 'publish.js'))),
      );
      const state = join(workDir, 'state');
      const modes = [
        ['sequential', '', 'build, then push'],
        ['stream', '', 'layers streamed into the upload while compressed, then the manifest'],
        ['stream', 'zstd', 'streamed, opt-in zstd layers'],
      ];
      const times = modes.map(() => []);
      try {
        // Interleaved, so machine noise hits every mode alike.
        for (let i = 0; i < n; i++) {
          for (const [m, [mode, compression]] of modes.entries()) {
            rmSync(state, { recursive: true, force: true });
            registry.wipe();
            const r = timed(process.execPath, [
              script,
              image.ctx,
              state,
              image.base,
              `${registry.host}/bench/built:1`,
              mode,
              compression,
            ]);
            times[m].push(r.ms);
            log(
              `build+push ${mode}${compression ? ` ${compression}` : ''} ${i + 1}: ${r.ms.toFixed(0)} ms ${r.out.trim()}`,
            );
          }
        }
        const anchor = (anchors.umoci_build_cold ?? 0) + (anchors.skopeo_push_cold ?? 0);
        for (const [m, [mode, compression, note]] of modes.entries()) {
          rows.push({
            name: `build+push cold ${mode}${compression ? ` ${compression}` : ''}`,
            medianMs: median(times[m]),
            ratio: anchor
              ? { anchor: 'umoci_build_cold+skopeo_push_cold', value: median(times[m]) / anchor }
              : undefined,
            note: `goal ≤ 0.6×; one process: ${note}`,
          });
        }
      } catch (error) {
        rows.push({
          name: 'build+push cold',
          medianMs: 0,
          note: `builder not usable yet: ${String(error.message).split('\n')[0]}`,
        });
      }
    } else {
      rows.push({ name: 'build+push cold', medianMs: 0, note: 'builder not built (dist/image missing)' });
    }
  } finally {
    await registry.stop();
  }
  return rows;
}
