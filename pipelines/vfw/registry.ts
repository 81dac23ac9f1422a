/**
 * The example's embedded registry: a `docker-registry` (distribution) on 127.0.0.1, started for the run when
 * none answers at the address and stopped when the run ends. Its storage stays in `.vnfpipe/registry`, so the
 * next run's push finds its blobs. Set VNFPIPE_REGISTRY to push to a registry of your own instead.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import type { StepContext } from 'vnfpipe';

/** One GET /v2/ with a 1 s deadline (node:http: no fetch engine to load for a single request). */
function answers(host: string): Promise<boolean> {
  return new Promise((done) => {
    const req = get(`http://${host}/v2/`, { timeout: 1000, agent: false }, (res) => {
      res.resume();
      done(res.headers['docker-distribution-api-version'] === 'registry/2.0');
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(false));
  });
}

export async function ensureLocalRegistry(
  ctx: StepContext,
  host: string,
): Promise<{ host: string; started: boolean }> {
  if (await answers(host)) {
    ctx.log(`registry ${host} is already up`);
    return { host, started: false };
  }
  const [address, port] = host.split(':');
  if (address !== '127.0.0.1' || !port)
    throw new Error(`registry ${host} does not answer (and only a 127.0.0.1 one is started here)`);
  const dir = join(ctx.stateDir, 'registry');
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log: { level: warn, accesslog: { disabled: true } }',
      `storage: { filesystem: { rootdirectory: ${join(dir, 'data')} }, delete: { enabled: true } }`,
      `http: { addr: ${host} }`,
      '',
    ].join('\n'),
  );
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  child.on('error', (error) => {
    stderr += `${error.message} (install the Debian package docker-registry)`;
  });
  // The registry lives for the run: deploys pull from it.
  ctx.onCleanup(() => {
    child.kill('SIGTERM');
  });
  for (let i = 0; i < 50; i++) {
    if (await answers(host)) {
      ctx.log(`started registry on ${host} (storage ${dir})`);
      return { host, started: true };
    }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`docker-registry did not start on ${host}: ${stderr.trim() || 'no output'}`);
}
