// Start-up cost of the CLI, per command, as a ratio to `node -e 0` timed in the same run (interleaved, so
// machine noise hits both alike): `vnfpipe plan` on the repository's example pipeline with its pipeline
// bundle cached (the usual case) and compiled afresh, and commands that do next to nothing else.
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

/** Commands timed beside `plan`: what they cost is the CLI's start-up (and, for runs, reading the journal). */
const COMMANDS = [
  { name: 'vnfpipe --version', args: ['--version'] },
  { name: 'vnfpipe --help', args: ['--help'] },
  { name: 'vnfpipe runs', args: ['runs', '-n', '5'] },
  { name: 'vnfpipe push --help', args: ['push', '--help'] },
];

export async function run({ repo, runs }) {
  const n = Math.max(10, runs * 4);
  const cli = join(repo, 'bin', 'vnfpipe.js');
  const plan = ['plan', '-f', 'vnfpipe.config.ts'];
  const cache = join(repo, '.vnfpipe', 'cache', 'pipeline');
  time(process.execPath, [cli, ...plan], repo); // warm the bundle and the page cache
  const node = [];
  const warm = [];
  const cold = [];
  const others = COMMANDS.map(() => []);
  // Interleaved, so machine noise hits both sides alike.
  for (let i = 0; i < n; i++) {
    node.push(time(process.execPath, ['-e', '0'], repo));
    warm.push(time(process.execPath, [cli, ...plan], repo));
    COMMANDS.forEach((command, j) => {
      others[j].push(time(process.execPath, [cli, ...command.args], repo));
    });
  }
  for (let i = 0; i < Math.max(3, runs); i++) {
    cold.push(
      time(process.execPath, [cli, ...plan], repo, () => rmSync(cache, { recursive: true, force: true })),
    );
  }
  const base = median(node);
  const row = (name, values, note) => ({
    name,
    medianMs: median(values),
    ratio: { anchor: 'node -e 0', value: median(values) / base },
    note,
  });
  return [
    { name: 'node -e 0', medianMs: base, note: `${n} runs` },
    row('vnfpipe plan (warm)', warm, 'goal ≤ 1.6×'),
    row('vnfpipe plan (cold bundle)', cold, 'first load compiles the pipeline with esbuild'),
    ...COMMANDS.map((command, j) => row(command.name, others[j])),
  ];
}
