import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sh, startRegistry } from './util.mjs';

export const needsAnchors = false;

const MiB = 1024 * 1024;

/** Deterministic bytes: xorshift32 words. */
function noise(seed, length, alphabet) {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = alphabet ? 97 + ((x >>> 0) % alphabet) : x & 0xff;
  }
  return out;
}

/** 1× = 64 MiB of 4,096 small files + 3 large files of 64 MiB (half random, a quarter text-like, zeros). */
function makeWorkload(dir, scale) {
  rmSync(dir, { recursive: true, force: true });
  const text = noise(7, MiB, 16);
  const random = noise(11, 8 * MiB);
  for (let s = 0; s < scale; s++) {
    const small = join(dir, `small${s}`);
    for (let d = 0; d < 64; d++) {
      mkdirSync(join(small, `d${d}`), { recursive: true });
      for (let f = 0; f < 64; f++) {
        const at = ((s * 4096 + d * 64 + f) * 4099) % (MiB - 16 * 1024);
        writeFileSync(join(small, `d${d}`, `f${f}.txt`), text.subarray(at, at + 16 * 1024));
      }
    }
    const large = join(dir, `large${s}`);
    mkdirSync(large, { recursive: true });
    for (let f = 0; f < 3; f++) {
      const parts = [];
      for (let i = 0; i < 4; i++) parts.push(random); // 32 MiB random (repeats beyond deflate's window)
      for (let i = 0; i < 16; i++) parts.push(text); // 16 MiB text-like
      parts.push(Buffer.alloc(16 * MiB)); // 16 MiB zeros
      writeFileSync(join(large, `blob${f}.bin`), Buffer.concat(parts));
    }
  }
}

const SCRIPT = `
const [what, dist, ...args] = process.argv.slice(2);
const t = performance.now();
let detail;
if (what === 'build') {
  const { buildImage } = await import(dist + '/image/index.js');
  const [context, layout] = args;
  const { readdirSync } = await import('node:fs');
  const layers = readdirSync(context).sort().map((d) => ({ files: { [d]: '/data/' + d } }));
  detail = (await buildImage({ context, layout, name: 'app', layers })).digest;
} else if (what === 'push') {
  const { copyImage } = await import(dist + '/registry/copy.js');
  const [layout, host] = args;
  detail = (await copyImage({ transport: 'oci', dir: layout, ref: 'app' },
    { transport: 'registry', registry: host, repository: 'scale/app', tag: '1' }, { blobLocations: false })).digest;
} else {
  const { scanImage } = await import(dist + '/scan/scanner.js');
  const r = await scanImage('oci:' + args[0] + ':app', { skipVulnerabilities: true });
  detail = r.packages.length + ' packages';
}
console.log(JSON.stringify({ ms: performance.now() - t, rssMb: process.resourceUsage().maxRSS / 1024, detail }));
`;

export async function run({ workDir, repo, log }) {
  mkdirSync(workDir, { recursive: true });
  const script = join(workDir, 'scale.mjs');
  writeFileSync(script, SCRIPT);
  const dist = pathToFileURL(join(repo, 'dist')).href;
  const registry = await startRegistry(join(workDir, 'registry'));
  const step = (...args) =>
    JSON.parse(sh(process.execPath, [script, args[0], dist, ...args.slice(1)]).trim());
  const results = {};
  try {
    for (const [name, scale] of [
      ['1x', 1],
      ['4x', 4],
    ]) {
      const ctx = join(workDir, `ctx-${name}`);
      const layout = join(workDir, `oci-${name}`);
      log(`scale ${name}: generating ${scale * 256} MiB`);
      makeWorkload(ctx, scale);
      rmSync(layout, { recursive: true, force: true });
      registry.wipe();
      const build = step('build', ctx, layout);
      const push = step('push', layout, registry.host);
      const scan = step('scan', layout);
      results[name] = { build, push, scan, mib: scale * 256 };
      log(
        `scale ${name}: build ${Math.round(build.ms)} ms ${Math.round(build.rssMb)} MB, push ${Math.round(push.ms)} ms ${Math.round(push.rssMb)} MB, scan ${Math.round(scan.ms)} ms ${Math.round(scan.rssMb)} MB`,
      );
      rmSync(ctx, { recursive: true, force: true });
      rmSync(layout, { recursive: true, force: true });
    }
  } finally {
    await registry.stop();
  }
  const rows = [];
  for (const what of ['build', 'push', 'scan']) {
    const one = results['1x'][what];
    const four = results['4x'][what];
    rows.push(
      { name: `${what} 256 MiB`, medianMs: one.ms, note: `one run, peak RSS ${Math.round(one.rssMb)} MB` },
      {
        name: `${what} 1 GiB`,
        medianMs: four.ms,
        note: `one run, ${(four.ms / one.ms).toFixed(2)}× the time for 4× the bytes, peak RSS ${Math.round(four.rssMb)} MB (${(four.rssMb / one.rssMb).toFixed(2)}×)`,
      },
    );
  }
  return rows;
}
