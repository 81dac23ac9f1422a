/**
 * Images in the Docker engine for deploy tests: the busybox base of the shared benchmark (an OCI layout made
 * by make-base.sh), loaded with skopeo under a tag, once per machine.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DOCKER } from './docker.js';
import { REPO_ROOT } from './project.js';

export const SHARED = process.env.VNFPIPE_SHARED ?? resolve(REPO_ROOT, '../shared');
export const BUSYBOX_TAG = 'vnfpipe-test/busybox:1';

/** The busybox OCI layout (tag `latest`), made once in the temp dir. */
export function busyboxLayout(): string {
  const dir = join(tmpdir(), 'vnfpipe-test-busybox-layout');
  if (!existsSync(join(dir, 'index.json'))) {
    const script = join(SHARED, 'bench', 'make-base.sh');
    if (!existsSync(script))
      throw new Error(`the shared benchmark files are missing: ${script} (set VNFPIPE_SHARED)`);
    mkdirSync(dir, { recursive: true });
    execFileSync('bash', [script, dir], { stdio: 'ignore' });
  }
  return dir;
}

/** The busybox image in the engine, by tag. */
export function busyboxInDocker(): string {
  try {
    execFileSync(DOCKER, ['image', 'inspect', BUSYBOX_TAG], { stdio: 'ignore' });
  } catch {
    execFileSync('skopeo', ['copy', '-q', `oci:${busyboxLayout()}:latest`, `docker-daemon:${BUSYBOX_TAG}`], {
      stdio: 'ignore',
    });
  }
  return BUSYBOX_TAG;
}

export function docker(...args: string[]): string {
  return execFileSync(DOCKER, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}
