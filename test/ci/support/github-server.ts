/**
 * A stand-in for the GitHub REST API on 127.0.0.1, for tests of vnfpipe's GitHub integration.
 *
 * What it simulates: a few repositories with branches (refs), files read and written through the contents
 * API, pull requests, and deployments with their statuses — only the ten operations vnfpipe calls, with
 * GitHub's status codes for the cases vnfpipe handles (401 bad credentials, 404 unknown repository/ref/file,
 * 422 for an existing ref or pull request, 409 for a stale file sha). It is not GitHub: answers carry only the
 * fields vnfpipe reads, and there are no permissions, rate limits or pagination.
 *
 * What it checks: every request is validated against GitHub's published OpenAPI description
 * (`api.github.com.json` from `@octokit/openapi`) with openapi-backend — path, query and body — and
 * requests that do not match it are answered 400 and collected in `invalid`. Every request is recorded in
 * `calls`, in order, so tests can assert the sequence.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Context, OpenAPIBackend } from 'openapi-backend';
import { githubOpenapiSubset } from './github-openapi.js';

export interface RecordedCall {
  operationId: string;
  method: string;
  path: string;
  status: number;
  body?: unknown;
  query?: Record<string, unknown>;
}

interface FileState {
  content: string;
  sha: string;
}

interface PullState {
  number: number;
  head: string;
  base: string;
  title: string;
  body: string;
  state: 'open' | 'closed';
}

export interface RepoState {
  defaultBranch: string;
  /** Branch name → head commit sha. */
  branches: Map<string, string>;
  /** `branch:path` → file. */
  files: Map<string, FileState>;
  pulls: PullState[];
  deployments: Array<{ id: number; ref: string; environment: string; statuses: string[] }>;
}

export interface GithubSimulator {
  url: string;
  /** Requests in arrival order. */
  calls: RecordedCall[];
  /** Requests that did not match GitHub's OpenAPI description, with the validator's errors. */
  invalid: Array<{ operationId: string; errors: unknown }>;
  /** Raw `authorization` headers seen (to check the token went only where it belongs). */
  authHeaders: string[];
  repo(fullName: string): RepoState;
  /** Answers the next call of `operationId` with this status and GitHub-style error body. */
  failNext(operationId: string, status: number, message: string, errors?: unknown[]): void;
  close(): Promise<void>;
}

const DOCS = 'https://docs.github.com/rest';

export async function startGithubSimulator(options: {
  token: string;
  /** Path the API is served under, as GitHub Enterprise Server's `/api/v3`. */
  prefix?: string;
  repos: Record<string, { defaultBranch?: string; files?: Record<string, string> }>;
}): Promise<GithubSimulator> {
  const calls: RecordedCall[] = [];
  const invalid: GithubSimulator['invalid'] = [];
  const authHeaders: string[] = [];
  const faults = new Map<string, { status: number; message: string; errors?: unknown[] }>();
  const repos = new Map<string, RepoState>();
  let counter = 0;
  const sha = (seed: string) => createHash('sha1').update(`${seed}:${++counter}`).digest('hex');

  for (const [name, spec] of Object.entries(options.repos)) {
    const defaultBranch = spec.defaultBranch ?? 'main';
    const state: RepoState = {
      defaultBranch,
      branches: new Map([[defaultBranch, sha(name)]]),
      files: new Map(),
      pulls: [],
      deployments: [],
    };
    for (const [path, content] of Object.entries(spec.files ?? {})) {
      state.files.set(`${defaultBranch}:${path}`, { content, sha: sha(content) });
    }
    repos.set(name, state);
  }

  type Reply = { status: number; body?: unknown };
  const notFound: Reply = {
    status: 404,
    body: { message: 'Not Found', documentation_url: DOCS, status: '404' },
  };
  const unprocessable = (message: string, errors?: unknown[]): Reply => ({
    status: 422,
    body: { message, errors, documentation_url: DOCS, status: '422' },
  });
  const param = (c: Context, name: string) => decodeURIComponent(String(c.request.params[name] ?? ''));
  const repoOf = (c: Context) => repos.get(`${param(c, 'owner')}/${param(c, 'repo')}`);
  const body = (c: Context) => (c.request.requestBody ?? {}) as Record<string, unknown>;
  const pullJson = (owner: string, repo: string, pull: PullState) => ({
    number: pull.number,
    state: pull.state,
    title: pull.title,
    body: pull.body,
    html_url: `https://github.example/${owner}/${repo}/pull/${pull.number}`,
    head: { ref: pull.head, label: `${owner}:${pull.head}` },
    base: { ref: pull.base },
  });

  const handlers: Record<string, (c: Context) => Reply> = {
    'repos/get': (c) => {
      const state = repoOf(c);
      if (!state) return notFound;
      return {
        status: 200,
        body: {
          name: param(c, 'repo'),
          full_name: `${param(c, 'owner')}/${param(c, 'repo')}`,
          default_branch: state.defaultBranch,
        },
      };
    },
    'git/get-ref': (c) => {
      const state = repoOf(c);
      const ref = param(c, 'ref');
      const head = ref.startsWith('heads/') ? state?.branches.get(ref.slice('heads/'.length)) : undefined;
      if (!state || !head) return notFound;
      return { status: 200, body: { ref: `refs/${ref}`, object: { sha: head, type: 'commit' } } };
    },
    'git/create-ref': (c) => {
      const state = repoOf(c);
      if (!state) return notFound;
      const { ref, sha: target } = body(c) as { ref: string; sha: string };
      const name = ref.replace(/^refs\/heads\//, '');
      if (state.branches.has(name)) return unprocessable('Reference already exists');
      state.branches.set(name, target);
      return { status: 201, body: { ref, object: { sha: target, type: 'commit' } } };
    },
    'repos/get-content': (c) => {
      const state = repoOf(c);
      const ref = String(c.request.query.ref ?? state?.defaultBranch);
      const file = state?.files.get(`${ref}:${param(c, 'path')}`);
      if (!state || !file) return notFound;
      const encoded = Buffer.from(file.content)
        .toString('base64')
        .replace(/(.{60})/g, '$1\n');
      return {
        status: 200,
        body: {
          type: 'file',
          encoding: 'base64',
          path: param(c, 'path'),
          sha: file.sha,
          content: encoded,
          size: file.content.length,
        },
      };
    },
    'repos/create-or-update-file-contents': (c) => {
      const state = repoOf(c);
      if (!state) return notFound;
      const input = body(c) as { content: string; branch?: string; sha?: string; message: string };
      const branch = input.branch ?? state.defaultBranch;
      if (!state.branches.has(branch)) return notFound;
      const key = `${branch}:${param(c, 'path')}`;
      const existing = state.files.get(key);
      if (existing && !input.sha) return unprocessable(`Invalid request.\n\n"sha" wasn't supplied.`);
      if (existing && input.sha !== existing.sha) {
        return {
          status: 409,
          body: { message: `${param(c, 'path')} does not match ${input.sha}`, documentation_url: DOCS },
        };
      }
      const content = Buffer.from(input.content, 'base64').toString('utf8');
      const file = { content, sha: sha(content) };
      state.files.set(key, file);
      const commit = sha(input.message);
      state.branches.set(branch, commit);
      return {
        status: existing ? 200 : 201,
        body: { content: { path: param(c, 'path'), sha: file.sha }, commit: { sha: commit } },
      };
    },
    'pulls/list': (c) => {
      const state = repoOf(c);
      if (!state) return notFound;
      const { head, base, state: wanted = 'open' } = c.request.query as Record<string, string | undefined>;
      const owner = param(c, 'owner');
      const found = state.pulls.filter(
        (pull) =>
          (wanted === 'all' || pull.state === wanted) &&
          (!head || `${owner}:${pull.head}` === head) &&
          (!base || pull.base === base),
      );
      return { status: 200, body: found.map((pull) => pullJson(owner, param(c, 'repo'), pull)) };
    },
    'pulls/create': (c) => {
      const state = repoOf(c);
      if (!state) return notFound;
      const input = body(c) as { head: string; base: string; title: string; body?: string };
      if (!state.branches.has(input.head) || !state.branches.has(input.base)) {
        return unprocessable('Validation Failed', [
          { resource: 'PullRequest', field: 'head', code: 'invalid' },
        ]);
      }
      if (
        state.pulls.some(
          (pull) => pull.state === 'open' && pull.head === input.head && pull.base === input.base,
        )
      ) {
        return unprocessable('Validation Failed', [
          {
            resource: 'PullRequest',
            code: 'custom',
            message: `A pull request already exists for ${param(c, 'owner')}:${input.head}.`,
          },
        ]);
      }
      const pull: PullState = {
        number: state.pulls.length + 1,
        head: input.head,
        base: input.base,
        title: input.title,
        body: input.body ?? '',
        state: 'open',
      };
      state.pulls.push(pull);
      return { status: 201, body: pullJson(param(c, 'owner'), param(c, 'repo'), pull) };
    },
    'pulls/update': (c) => {
      const state = repoOf(c);
      const pull = state?.pulls.find((p) => p.number === Number(param(c, 'pull_number')));
      if (!state || !pull) return notFound;
      const input = body(c) as { title?: string; body?: string };
      if (input.title !== undefined) pull.title = input.title;
      if (input.body !== undefined) pull.body = input.body;
      return { status: 200, body: pullJson(param(c, 'owner'), param(c, 'repo'), pull) };
    },
    'repos/create-deployment': (c) => {
      const state = repoOf(c);
      if (!state) return notFound;
      const input = body(c) as { ref: string; environment?: string };
      const deployment = {
        id: 1000 + state.deployments.length + 1,
        ref: input.ref,
        environment: input.environment ?? 'production',
        statuses: [],
      };
      state.deployments.push(deployment);
      return {
        status: 201,
        body: { id: deployment.id, ref: deployment.ref, environment: deployment.environment },
      };
    },
    'repos/create-deployment-status': (c) => {
      const state = repoOf(c);
      const deployment = state?.deployments.find((d) => d.id === Number(param(c, 'deployment_id')));
      if (!state || !deployment) return notFound;
      const input = body(c) as { state: string };
      deployment.statuses.push(input.state);
      return { status: 201, body: { id: deployment.statuses.length, state: input.state } };
    },
  };

  const api = new OpenAPIBackend({
    definition: (await githubOpenapiSubset()) as never,
    validate: true,
    quick: false,
    ajvOpts: { strict: false },
    // GitHub's own string format for `owner/name`.
    customizeAjv: (ajv) => ajv.addFormat('repo.nwo', /^[^/]+\/[^/]+$/),
  });
  api.register({
    validationFail: (c: Context) => {
      invalid.push({ operationId: c.operation?.operationId ?? '?', errors: c.validation.errors });
      return {
        status: 400,
        body: { message: 'request does not match GitHub’s OpenAPI description', errors: c.validation.errors },
      };
    },
    notFound: () => notFound,
    notImplemented: () => ({ status: 501, body: { message: 'not simulated' } }),
  });
  for (const [operationId, handler] of Object.entries(handlers)) {
    api.register(operationId, (c: Context) => {
      const fault = faults.get(operationId);
      if (fault) {
        faults.delete(operationId);
        return {
          status: fault.status,
          body: {
            message: fault.message,
            ...(fault.errors ? { errors: fault.errors } : {}),
            documentation_url: DOCS,
            status: String(fault.status),
          },
        };
      }
      return handler(c);
    });
  }
  await api.init();

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((error: Error) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: error.message }));
    });
  });

  function operationOf(method: string, path: string): string {
    const operation = api.matchOperation({ method, path, headers: {} }) as
      | { operationId?: string }
      | undefined;
    return operation?.operationId ?? '?';
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const prefix = options.prefix ?? '';
    if (prefix && !url.pathname.startsWith(`${prefix}/`)) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `not under ${prefix}` }));
      return;
    }
    url.pathname = url.pathname.slice(prefix.length);
    const auth = String(req.headers.authorization ?? '');
    authHeaders.push(auth);
    const parsedBody = raw ? (JSON.parse(raw) as unknown) : undefined;
    const query = Object.fromEntries(url.searchParams);
    let reply: Reply;
    let operationId = '?';
    if (auth !== `token ${options.token}` && auth !== `bearer ${options.token}`) {
      operationId = operationOf(req.method ?? 'GET', url.pathname);
      reply = { status: 401, body: { message: 'Bad credentials', documentation_url: DOCS, status: '401' } };
    } else {
      const result = (await api.handleRequest({
        method: req.method ?? 'GET',
        path: url.pathname,
        query,
        headers: req.headers as Record<string, string>,
        ...(parsedBody !== undefined ? { body: parsedBody } : {}),
      })) as Reply;
      operationId = operationOf(req.method ?? 'GET', url.pathname);
      reply = result;
    }
    calls.push({
      operationId,
      method: req.method ?? 'GET',
      path: url.pathname,
      status: reply.status,
      ...(parsedBody !== undefined ? { body: parsedBody } : {}),
      ...(Object.keys(query).length ? { query } : {}),
    });
    res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${options.prefix ?? ''}`,
    calls,
    invalid,
    authHeaders,
    repo(fullName) {
      const state = repos.get(fullName);
      if (!state) throw new Error(`no simulated repository ${fullName}`);
      return state;
    },
    failNext(operationId, status, message, errors) {
      faults.set(operationId, { status, message, ...(errors ? { errors } : {}) });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
