/**
 * The Docker engine for tests: Debian's `docker.io`. `scripts/setup-deps.sh` starts it (`dockerd
 * --iptables=false`) when it is not running; tests only check that it answers, and say how to fix it if not.
 */
import { execFileSync } from 'node:child_process';

/** Debian's client: the first `docker` on PATH may be a newer client without buildx. */
export const DOCKER = '/usr/bin/docker';

export function dockerAvailable(): { ok: true; version: string } | { ok: false; problem: string } {
  try {
    const version = execFileSync(DOCKER, ['version', '--format', '{{.Server.Version}}'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 10_000,
    }).trim();
    return { ok: true, version };
  } catch (error) {
    return {
      ok: false,
      problem: `the Docker engine does not answer (${(error as Error).message.split('\n')[0]}); run scripts/setup-deps.sh`,
    };
  }
}

export function requireDocker(): string {
  const status = dockerAvailable();
  if (!status.ok) throw new Error(status.problem);
  return status.version;
}
