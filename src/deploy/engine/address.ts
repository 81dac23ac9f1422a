/**
 * How a deploy step or command names a Docker engine: a DOCKER_HOST string (`unix://`, `tcp://`, `ssh://`),
 * optionally with TLS files or SSH settings, or a docker context by name. Syntax only: cheap to import,
 * so pipeline validation can reject a malformed engine before anything runs.
 */
import { createHash } from 'node:crypto';
import { VnfpipeError } from '../../errors.js';

/** TLS files for a `tcp://` engine, as `docker --tlsverify --tlscacert … --tlscert … --tlskey …` takes them. */
export interface EngineTlsFiles {
  /** The CA that signed the engine's certificate (PEM file). */
  ca?: string;
  /** Our client certificate and its key (PEM files), when the engine asks for one. */
  cert?: string;
  key?: string;
  /** Check the engine's certificate against `ca` (default true). */
  verify?: boolean;
}

/** SSH settings for an `ssh://` engine; by default the agent (SSH_AUTH_SOCK), then ~/.ssh/id_* keys. */
export interface EngineSshOptions {
  /** A private key file (default: VNFPIPE_SSH_KEY, else ~/.ssh/id_ed25519, id_ecdsa, id_rsa). */
  identity?: string;
  /** A known_hosts file (default: VNFPIPE_SSH_KNOWN_HOSTS, else ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts). */
  knownHosts?: string;
}

/** An engine with its TLS or SSH settings; file paths are relative to the project. */
export interface EngineSpec {
  /** DOCKER_HOST form: `unix:///run/site-a.sock`, `tcp://10.0.0.5:2376`, `ssh://deploy@site-a`. */
  host: string;
  tls?: EngineTlsFiles;
  ssh?: EngineSshOptions;
}

/** A deploy step's `engine`: a DOCKER_HOST string, or one with TLS files or SSH settings. */
export type EngineOption = string | EngineSpec;

export type EngineHost =
  | { scheme: 'unix'; socketPath: string }
  | { scheme: 'tcp'; host: string; port?: number }
  | { scheme: 'ssh'; user?: string; host: string; port?: number };

const FORMS = 'unix:///PATH, tcp://HOST[:PORT] or ssh://[USER@]HOST[:PORT]';

/** Parses a DOCKER_HOST string; the error says what is wrong with it. */
export function parseEngineHost(value: string, where = 'DOCKER_HOST'): EngineHost {
  const text = value.trim();
  // A password in the address never reaches a message.
  const hide = (address: string) => address.replace(/([a-z0-9+.-]+:\/\/[^/@:\s]*):[^/@\s]*@/gi, '$1:***@');
  const bad = (why: string) =>
    new VnfpipeError('USAGE', `engine address '${hide(text)}' ${why}`, {
      where: hide(where),
      hint: `use ${FORMS}`,
    });
  if (text.startsWith('unix://')) {
    const socketPath = text.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw bad('needs an absolute socket path');
    return { scheme: 'unix', socketPath };
  }
  const scheme = /^([a-z0-9+.-]+):\/\//i.exec(text)?.[1]?.toLowerCase();
  if (scheme !== 'tcp' && scheme !== 'ssh') throw bad('is not a Docker engine address');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad('is not a valid URL');
  }
  if (!url.hostname) throw bad('names no host');
  if (url.pathname && url.pathname !== '/') throw bad(`has a path (${url.pathname})`);
  if (url.search || url.hash) throw bad('has a query or fragment');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port ? Number(url.port) : undefined;
  if (scheme === 'tcp') {
    if (url.username || url.password) throw bad('has a user: only ssh:// addresses do');
    return { scheme: 'tcp', host, ...(port ? { port } : {}) };
  }
  // The docker CLI refuses passwords in ssh:// too: keys only, and a password here would end up in journals.
  if (url.password) throw bad('has a password: use a key (ssh-agent or a key file)');
  return {
    scheme: 'ssh',
    host,
    ...(url.username ? { user: decodeURIComponent(url.username) } : {}),
    ...(port ? { port } : {}),
  };
}

/** How messages and tables name an engine choice: its DOCKER_HOST string, or `context <name>`. */
export function describeEngine(choice: { engine?: EngineOption; context?: string }): string | undefined {
  if (choice.engine) return hostOf(choice.engine);
  return choice.context ? `context ${choice.context}` : undefined;
}

/** The DOCKER_HOST string of an engine option. */
export function hostOf(engine: EngineOption): string {
  return typeof engine === 'string' ? engine : engine.host;
}

/**
 * Checks a step's `engine` and `context` options at validation time; errors name the option (the plan adds
 * the step id).
 */
export function checkEngineChoice(step: string, options: { engine?: unknown; context?: unknown }): void {
  const invalid = (message: string, hint?: string) =>
    new VnfpipeError('PIPELINE_INVALID', `${step}: ${message}`, hint ? { hint } : {});
  const { engine, context } = options;
  if (context !== undefined && (typeof context !== 'string' || context.trim() === '')) {
    throw invalid("'context' must be a docker context name", '`docker context ls` lists them');
  }
  if (engine === undefined) return;
  if (context !== undefined) {
    throw invalid("give either 'engine' or 'context', not both", 'a context already names its engine');
  }
  const spec: EngineSpec | undefined =
    typeof engine === 'string'
      ? { host: engine }
      : isObject(engine)
        ? (engine as unknown as EngineSpec)
        : undefined;
  if (!spec || typeof spec.host !== 'string') {
    throw invalid(`'engine' must be a DOCKER_HOST string or { host, tls?, ssh? }`, `use ${FORMS}`);
  }
  let parsed: EngineHost;
  try {
    parsed = parseEngineHost(spec.host);
  } catch (error) {
    throw invalid(`'engine': ${(error as VnfpipeError).message}`, `use ${FORMS}`);
  }
  if (spec.tls !== undefined) {
    if (!isObject(spec.tls)) throw invalid("'engine.tls' must be { ca?, cert?, key?, verify? }");
    if (parsed.scheme !== 'tcp') throw invalid("'engine.tls' is for tcp:// engines");
    for (const file of ['ca', 'cert', 'key'] as const) {
      const value = spec.tls[file];
      if (value !== undefined && (typeof value !== 'string' || value === '')) {
        throw invalid(`'engine.tls.${file}' must be a file path`);
      }
    }
    if (!spec.tls.cert !== !spec.tls.key) throw invalid("'engine.tls.cert' and 'engine.tls.key' go together");
    if (spec.tls.verify !== undefined && typeof spec.tls.verify !== 'boolean') {
      throw invalid("'engine.tls.verify' must be true or false");
    }
  }
  if (spec.ssh !== undefined) {
    if (!isObject(spec.ssh)) throw invalid("'engine.ssh' must be { identity?, knownHosts? }");
    if (parsed.scheme !== 'ssh') throw invalid("'engine.ssh' is for ssh:// engines");
    for (const file of ['identity', 'knownHosts'] as const) {
      const value = spec.ssh[file];
      if (value !== undefined && (typeof value !== 'string' || value === '')) {
        throw invalid(`'engine.ssh.${file}' must be a file path`);
      }
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The folder a named engine's (or context's) release history lives in, so one workload name deployed to
 * several engines keeps one history per engine: readable, plus a short hash against collisions. The
 * environment's engine (no engine, no context) keeps the unscoped history.
 */
export function engineScope(choice: { engine?: EngineOption; context?: string }): string | undefined {
  const key = choice.engine
    ? hostOf(choice.engine)
    : choice.context
      ? `context-${choice.context}`
      : undefined;
  if (!key) return undefined;
  const readable = key
    .replace(/^[a-z]+:\/\//, '')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .slice(0, 48);
  return `${readable}-${createHash('sha256').update(key).digest('hex').slice(0, 8)}`;
}
