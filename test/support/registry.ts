/**
 * A real OCI registry for tests: Debian's `docker-registry` (distribution 2.8) on a free 127.0.0.1 port,
 * with its own temporary config and storage, stopped (and its storage removed) after the tests.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.js';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';

export interface TestRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  storage: string;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  /** Extra top-level YAML appended to the config (auth, http.tls…). */
  extraConfig?: string;
  /** Serve TLS with this certificate; readiness is checked trusting `ca`. */
  tls?: { certificate: string; key: string; ca: string };
}

export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  const root = mkdtempSync(join(tmpdir(), 'vnfpipe-registry-'));
  const storage = join(root, 'storage');
  const port = await freePort();
  const config = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storage}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    ...(options.tls
      ? ['  tls:', `    certificate: ${options.tls.certificate}`, `    key: ${options.tls.key}`]
      : []),
    ...(options.extraConfig ? [options.extraConfig] : []),
    '',
  ].join('\n');
  const configPath = join(root, 'config.yml');
  writeFileSync(configPath, config);

  const child: ChildProcess = spawn(REGISTRY_BINARY, ['serve', configPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const agent = options.tls ? new Agent({ ca: readFileSync(options.tls.ca) }) : undefined;
  try {
    await waitFor(`registry on ${url}`, async () => {
      if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
      return (await answers(`${url}/v2/`, agent)) ? true : undefined;
    });
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    agent?.destroy();
  }
  return {
    host: `127.0.0.1:${port}`,
    url,
    port,
    storage,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(killer);
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** True once anything answers at `url` (any status: the registry is up). */
function answers(url: string, agent: Agent | undefined): Promise<boolean> {
  if (!agent)
    return fetch(url).then(
      () => true,
      () => false,
    );
  return new Promise((resolve) => {
    const req = httpsRequest(url, { agent }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}
