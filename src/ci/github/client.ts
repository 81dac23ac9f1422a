/**
 * The one adapter to the GitHub REST API (octokit). Tokens come from options or `GITHUB_TOKEN`, GitHub
 * Enterprise from `baseUrl` or `GITHUB_API_URL`. Every API failure becomes a VnfpipeError saying what was
 * attempted and what to do; the token never appears in messages (they pass through a masker anyway).
 */
import type { Octokit } from '@octokit/rest';
import { VnfpipeError } from '../../errors.js';
import { Masker } from '../../pipeline/secret.js';

export interface GithubClientOptions {
  /** A token; default `env.GITHUB_TOKEN`. */
  token?: string;
  /** REST API root, e.g. `https://ghe.example.com/api/v3`; default `env.GITHUB_API_URL` or api.github.com. */
  baseUrl?: string;
  env?: Readonly<Record<string, string | undefined>>;
}

export interface GithubClient {
  readonly octokit: Octokit;
  readonly baseUrl: string;
  /** Runs one API call, turning failures into VnfpipeErrors that name `what` and the request. */
  call<T>(what: string, request: () => Promise<T>): Promise<T>;
}

export const DEFAULT_GITHUB_API = 'https://api.github.com';

export async function createGithubClient(options: GithubClientOptions = {}): Promise<GithubClient> {
  const env = options.env ?? process.env;
  const token = options.token ?? env.GITHUB_TOKEN;
  if (!token) {
    throw new VnfpipeError('USAGE', 'no GitHub token: GITHUB_TOKEN is not set', {
      hint: 'export GITHUB_TOKEN=<token> (in GitHub Actions, map the GITHUB_TOKEN secret into the step env)',
    });
  }
  const baseUrl = (options.baseUrl ?? env.GITHUB_API_URL ?? DEFAULT_GITHUB_API).replace(/\/+$/, '');
  const masker = new Masker();
  masker.add(token);
  const { Octokit } = await import('@octokit/rest');
  const silent = () => {};
  const octokit = new Octokit({
    auth: token,
    baseUrl,
    userAgent: 'vnfpipe',
    // Octokit logs deprecations and request failures itself; vnfpipe reports errors once, masked.
    log: { debug: silent, info: silent, warn: silent, error: silent },
  });
  return {
    octokit,
    baseUrl,
    async call(what, request) {
      try {
        return await request();
      } catch (error) {
        throw githubError(error, what, masker);
      }
    },
  };
}

interface RequestErrorLike {
  status?: number;
  message?: string;
  request?: { method?: string; url?: string };
  response?: { data?: unknown };
}

/** Maps an octokit failure to an actionable error. */
export function githubError(error: unknown, what: string, masker: Masker): VnfpipeError {
  if (error instanceof VnfpipeError) return error;
  const err = (error ?? {}) as RequestErrorLike;
  const status = typeof err.status === 'number' ? err.status : undefined;
  const where = err.request?.url
    ? masker.mask(`${err.request.method ?? 'GET'} ${stripQuery(err.request.url)}`)
    : undefined;
  const said = masker.mask(serverMessage(err.response?.data) ?? err.message ?? String(error));
  const details = (hint: string) => ({ ...(where ? { where } : {}), hint });
  switch (status) {
    case 401:
      return new VnfpipeError(
        'USAGE',
        `${what}: GitHub rejected the token (401 ${said})`,
        details('check that GITHUB_TOKEN holds a valid, unexpired token for this GitHub server'),
      );
    case 403:
      return new VnfpipeError(
        'USAGE',
        `${what}: the token is not allowed to do this (403 ${said})`,
        details(
          'give the token the scopes this needs (contents and pull requests: write; workflows: write to change .github/workflows; deployments: write)',
        ),
      );
    case 404:
      return new VnfpipeError(
        'USAGE',
        `${what}: not found (404 ${said})`,
        details('check the repository name and that the token can see it (private repositories answer 404)'),
      );
    case 409:
    case 422:
      return new VnfpipeError(
        'STEP_FAILED',
        `${what}: GitHub refused the request (${status} ${said})`,
        details('the repository state changed or a value was invalid; see the message from GitHub'),
      );
    default:
      return new VnfpipeError(
        status === undefined ? 'IO' : 'STEP_FAILED',
        `${what}: ${status === undefined ? 'cannot reach GitHub' : `GitHub answered ${status}`}: ${said}`,
        details(status === undefined ? 'check the network and the API URL' : 'try again later'),
      );
  }
}

/** GitHub's `message` plus the messages of validation `errors`, when the answer has them. */
function serverMessage(data: unknown): string | undefined {
  if (!data || typeof data !== 'object') return typeof data === 'string' && data ? data : undefined;
  const { message, errors } = data as { message?: unknown; errors?: unknown };
  const parts = typeof message === 'string' ? [message] : [];
  if (Array.isArray(errors)) {
    for (const item of errors) {
      if (typeof item === 'string') parts.push(item);
      else if (item && typeof item === 'object') {
        const e = item as { message?: unknown; field?: unknown; code?: unknown };
        const text = typeof e.message === 'string' ? e.message : [e.field, e.code].filter(Boolean).join(' ');
        if (text) parts.push(text);
      }
    }
  }
  return parts.length ? parts.join('; ') : undefined;
}

function stripQuery(url: string): string {
  const at = url.indexOf('?');
  return at === -1 ? url : url.slice(0, at);
}

/** `owner/name` → parts, or a usage error naming where the value came from. */
export function parseRepo(value: string | undefined, from: string): { owner: string; repo: string } {
  const match = value?.match(/^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/);
  if (!match) {
    throw new VnfpipeError('USAGE', `${from}: '${value ?? ''}' is not a GitHub repository (owner/name)`, {
      hint: 'pass --repo owner/name or set GITHUB_REPOSITORY',
    });
  }
  return { owner: match[1]!, repo: match[2]! };
}
