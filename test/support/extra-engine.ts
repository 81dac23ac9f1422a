/**
 * Extra Docker engines for tests that need more than one site: a `dockerd` of its own (data root, exec root,
 * pid file, socket) with its own default bridge and address pool, so it never touches the main engine's
 * state. Never `--bridge=none`: that makes dockerd delete the host's docker0 and breaks the main engine.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOCKER } from './docker.js';
import { freePrefix16, freeSubnets } from './subnets.js';
import { waitFor } from './wait.js';

export interface ExtraEngine {
  /** DOCKER_HOST form of its unix socket: `unix:///tmp/…/docker.sock`. */
  host: string;
  socket: string;
  /** The folder holding its data root, exec root, pid file, socket and log. */
  dir: string;
  /** Runs the docker CLI against this engine and returns its stdout. */
  docker(args: string[]): string;
  stop(): Promise<void>;
}

export interface ExtraEngineOptions {
  /** Extra `dockerd` arguments, e.g. `-H tcp://127.0.0.1:PORT --tlsverify …`. */
  args?: string[];
}

/** Starts a dockerd beside the main one; resolves once it answers on its socket. */
export async function startExtraEngine(options: ExtraEngineOptions = {}): Promise<ExtraEngine> {
  const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-engine-'));
  const socket = join(dir, 'docker.sock');
  const bridge = `vpe${randomBytes(3).toString('hex')}`;
  const [subnet] = freeSubnets(1);
  const pool = freePrefix16(Array.from({ length: 256 }, (_, third) => third));
  execFileSync('ip', ['link', 'add', 'name', bridge, 'type', 'bridge']);
  execFileSync('ip', ['addr', 'add', `${subnet!.ip(1)}/24`, 'dev', bridge]);
  execFileSync('ip', ['link', 'set', bridge, 'up']);
  const log = openSync(join(dir, 'dockerd.log'), 'a');
  const child: ChildProcess = spawn(
    'dockerd',
    [
      `--data-root=${join(dir, 'data')}`,
      `--exec-root=${join(dir, 'exec')}`,
      `--pidfile=${join(dir, 'docker.pid')}`,
      `--host=unix://${socket}`,
      `--bridge=${bridge}`,
      `--default-address-pool=base=${pool}.0.0/16,size=24`,
      '--iptables=false',
      '--log-level=warn',
      ...(options.args ?? []),
    ],
    { stdio: ['ignore', log, log], detached: false },
  );
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const docker = (args: string[]) =>
    execFileSync(DOCKER, ['-H', `unix://${socket}`, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
  const answers = () => {
    if (exited || !existsSync(socket)) return exited;
    try {
      docker(['version', '--format', '{{.Server.Version}}']);
      return true;
    } catch {
      return false;
    }
  };
  const cleanup = () => {
    try {
      execFileSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(`the extra dockerd on ${socket}`, answers, 60_000);
    if (exited) throw new Error(`the extra dockerd exited at start (its log: ${join(dir, 'dockerd.log')})`);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    host: `unix://${socket}`,
    socket,
    dir,
    docker,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        await waitFor('the extra dockerd to stop', () => exited, 30_000).catch(() => child.kill('SIGKILL'));
      }
      cleanup();
    },
  };
}
