/**
 * One single-node swarm for the whole test run. Tests call `joinTestSwarm()`, which initialises it when the
 * engine is not in a swarm yet and never leaves it; the run's global teardown leaves it when the run found
 * the engine outside a swarm and no service is left (so another run still deploying keeps it).
 */
import { execFileSync } from 'node:child_process';
import { DOCKER } from './docker.js';

export type SwarmState = 'active' | 'inactive' | 'unknown';

function docker(args: string[]): string {
  return execFileSync(DOCKER, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export function swarmState(): SwarmState {
  try {
    const state = docker(['info', '--format', '{{.Swarm.LocalNodeState}}']);
    return state === 'active' ? 'active' : 'inactive';
  } catch {
    return 'unknown';
  }
}

/** Makes sure the engine is a swarm manager; two workers racing to initialise both end up in the swarm. */
export function joinTestSwarm(): void {
  if (swarmState() === 'active') return;
  try {
    docker(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
  } catch (error) {
    if (swarmState() !== 'active') throw error;
  }
}

export function leaveSwarmIfOurs(atStart: SwarmState): void {
  if (atStart !== 'inactive' || swarmState() !== 'active') return;
  if (docker(['service', 'ls', '-q']) !== '') return;
  docker(['swarm', 'leave', '--force']);
}
