// Start-up cost of `vnfpipe plan` on the repository's example pipeline, as a ratio to `node -e 0` timed in
// the same run. The pipeline bundle cache is warm (the usual case); a cold load is reported beside it.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { median } from './util.mjs';

export const needsAnchors = false;

function time(command, args, cwd, before) {
  before?.();
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  return ms;
}

export async function run({ repo, runs }) {
  const n = Math.max(10, runs * 4);
  const cli = join(repo, 'bin', 'vnfpipe.js');
  const plan = ['plan', '-f', 'vnfpipe.config.ts'];
  const cache = join(repo, '.vnfpipe', 'cache', 'pipeline');
  time(process.execPath, [cli, ...plan], repo); // warm the bundle and the page cache
  const node = [];
  const warm = [];
  const cold = [];
  // Interleaved, so machine noise hits both sides alike.
  for (let i = 0; i < n; i++) {
    node.push(time(process.execPath, ['-e', '0'], repo));
    warm.push(time(process.execPath, [cli, ...plan], repo));
  }
  for (let i = 0; i < Math.max(3, runs); i++) {
    cold.push(
      time(process.execPath, [cli, ...plan], repo, () => rmSync(cache, { recursive: true, force: true })),
    );
  }
  const base = median(node);
  return [
    { name: 'node -e 0', medianMs: median(node), note: `${n} runs` },
    {
      name: 'vnfpipe plan (warm)',
      medianMs: median(warm),
      ratio: { anchor: 'node -e 0', value: median(warm) / base },
      note: 'goal ≤ 4×',
    },
    {
      name: 'vnfpipe plan (cold bundle)',
      medianMs: median(cold),
      ratio: { anchor: 'node -e 0', value: median(cold) / base },
      note: 'first load compiles the pipeline with esbuild',
    },
  ];
}
