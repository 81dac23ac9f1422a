/**
 * What every bench suite shares: the median of repeated timings, a command that must succeed, and a
 * docker-registry of the suite's own on a free 127.0.0.1 port.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs a command and returns its stdout; a non-zero exit throws with its stderr. */
export function sh(command, args, options = {}) {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

export function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
    server.on('error', fail);
  });
}

/** Debian's docker-registry storing under `dir`, answering before this resolves; `wipe` empties it. */
export async function startRegistry(dir) {
  const host = `127.0.0.1:${await freePort()}`;
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'registry.yml');
  writeFileSync(
    config,
    `version: 0.1
log: { level: warn, accesslog: { disabled: true } }
storage: { filesystem: { rootdirectory: ${join(dir, 'data')} }, delete: { enabled: true } }
http: { addr: ${host} }
`,
  );
  const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const answers = await fetch(`http://${host}/v2/`).then(
      () => true,
      () => false,
    );
    if (answers) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    host,
    wipe: () => rmSync(join(dir, 'data', 'docker'), { recursive: true, force: true }),
    stop: () =>
      new Promise((ok) => {
        child.once('exit', ok);
        child.kill('SIGTERM');
      }),
  };
}
