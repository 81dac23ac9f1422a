/**
 * Images in the Docker engine for deploy tests: the busybox base (base-image.ts, built by the global setup),
 * loaded with skopeo under a tag named after its content key, so a changed base gets a new tag.
 */
import { execFileSync } from 'node:child_process';
import { inject } from 'vitest';
import { BASE_REF } from './base-image.js';
import { DOCKER } from './docker.js';

/** The busybox OCI layout (ref `latest`), one for the whole run: use it as a base or copy it, never change it. */
export function busyboxLayout(): string {
  return inject('busyboxLayout');
}

/** The busybox image in the engine, by tag. */
export function busyboxInDocker(): string {
  const tag = `vnfpipe-test/busybox:${inject('busyboxKey')}`;
  try {
    execFileSync(DOCKER, ['image', 'inspect', tag], { stdio: 'ignore' });
  } catch {
    execFileSync('skopeo', ['copy', '-q', `oci:${busyboxLayout()}:${BASE_REF}`, `docker-daemon:${tag}`], {
      stdio: 'ignore',
    });
  }
  return tag;
}

export function docker(...args: string[]): string {
  return execFileSync(DOCKER, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}
