/**
 * Release events: what the deploy, verify and rollback steps tell the world about a release (a deploy began
 * or failed, verify passed or failed, a revision was rolled back). Observers — the GitHub Deployments
 * recorder — subscribe; they report, they never decide. An observer that fails is a warning in the step's
 * log and the step's outcome stays what the release did.
 */
import { messageOf } from '../errors.js';
import type { Release } from '../pipeline/kinds.js';
import type { StepContext } from '../pipeline/model.js';
import type { GithubOption } from './github.js';

export type ReleaseEvent =
  | { type: 'deploy.start'; name: string; github?: GithubOption }
  /** `release` carries what observers recorded at `deploy.start` (its `github` field). */
  | { type: 'deploy.failed'; name: string; release: Partial<Release> }
  | { type: 'verify.passed'; release: Release }
  | { type: 'verify.failed'; release: Release }
  /** Verify could not judge the release: its own tooling failed (no verdict, no rollback). */
  | { type: 'verify.error'; release: Release; error: string }
  | { type: 'rolled-back'; release: Release; restored: number };

/** What observers may add to the release output at `deploy.start`, so later steps and CI jobs find it. */
export type ReleaseRecord = Pick<Release, 'github'>;

export interface ReleaseObserver {
  readonly name: string;
  notify(ctx: StepContext, event: ReleaseEvent): Promise<ReleaseRecord | undefined>;
}

/** The observers every release step notifies, loaded only when a step emits. */
async function observers(): Promise<ReleaseObserver[]> {
  const { githubDeployments } = await import('./github.js');
  return [githubDeployments];
}

/**
 * Tells every observer; returns what they recorded. An observer's failure is logged as a warning (masked
 * like every step log line) and otherwise ignored.
 */
export async function emitReleaseEvent(ctx: StepContext, event: ReleaseEvent): Promise<ReleaseRecord> {
  const recorded: ReleaseRecord = {};
  for (const observer of await observers()) {
    try {
      Object.assign(recorded, await observer.notify(ctx, event));
    } catch (error) {
      ctx.log(
        `${observer.name}: could not report ${event.type} (the step's outcome is unchanged): ${messageOf(error)}`,
        'warn',
      );
    }
  }
  return recorded;
}
