/**
 * Authorisation for one registry: learns the challenge (from the ping or the first 401), then sends Basic
 * credentials or Bearer tokens. Tokens are cached by scope and reused for any request whose scopes they
 * cover; a request needing more (push after pull, a mount's source repository) gets a new, wider token.
 */
import { VnfpipeError } from '../../errors.js';
import { authFailed, remoteError, unreachable } from '../errors.js';
import { hostName, isLoopbackHost, type Transport } from '../transport.js';
import { type Challenge, parseChallenges } from './challenge.js';
import type { Credentials } from './docker-config.js';

interface CachedToken {
  scopes: Map<string, Set<string>>;
  token: string;
  expiresAt: number;
}

export interface AuthenticatorOptions {
  registry: string;
  transport: Transport;
  credentials: () => Promise<Credentials | undefined>;
  /** Credentials may go to a plain-HTTP token realm off loopback only when true. */
  insecure?: boolean;
  signal?: AbortSignal;
}

/** `repository:a/b:pull,push` → resource `repository:a/b`, actions pull, push. */
function parseScopes(scopes: readonly string[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const scope of scopes) {
    const cut = scope.lastIndexOf(':');
    if (cut <= 0) continue;
    const resource = scope.slice(0, cut);
    const set = out.get(resource) ?? new Set<string>();
    for (const action of scope.slice(cut + 1).split(',')) if (action) set.add(action);
    out.set(resource, set);
  }
  return out;
}

function formatScopes(scopes: Map<string, Set<string>>): string[] {
  return [...scopes].map(([resource, actions]) => `${resource}:${[...actions].sort().join(',')}`).sort();
}

function covers(have: Map<string, Set<string>>, want: Map<string, Set<string>>): boolean {
  for (const [resource, actions] of want) {
    const got = have.get(resource);
    if (!got) return false;
    for (const action of actions) if (!got.has(action) && !got.has('*')) return false;
  }
  return true;
}

function merge(a: Map<string, Set<string>>, b: Map<string, Set<string>>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const source of [a, b])
    for (const [resource, actions] of source)
      out.set(resource, new Set([...(out.get(resource) ?? []), ...actions]));
  return out;
}

export class Authenticator {
  private readonly options: AuthenticatorOptions;
  private challenge: Challenge | undefined;
  private credentials: Promise<Credentials | undefined> | undefined;
  private readonly tokens: CachedToken[] = [];
  private readonly inflight = new Map<string, Promise<CachedToken>>();
  /** Scopes the registry asked for beyond ours (from 401 challenges), kept for later requests. */
  private extraScopes = new Map<string, Set<string>>();

  constructor(options: AuthenticatorOptions) {
    this.options = options;
  }

  get registry(): string {
    return this.options.registry;
  }

  /** Records the challenge of an unauthenticated `/v2/` answer. */
  learn(header: string | undefined): void {
    const challenges = parseChallenges(header);
    this.challenge =
      challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
  }

  private loadCredentials(): Promise<Credentials | undefined> {
    this.credentials ??= this.options.credentials();
    return this.credentials;
  }

  /** The Authorization header for a request needing `scopes`, or undefined while no challenge is known. */
  async header(scopes: readonly string[]): Promise<string | undefined> {
    const challenge = this.challenge;
    if (!challenge) return undefined;
    const credentials = await this.loadCredentials();
    if (challenge.scheme === 'basic') {
      if (credentials?.kind === 'basic') {
        return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
      }
      return undefined;
    }
    if (challenge.scheme !== 'bearer') return undefined;
    if (credentials?.kind === 'token') return `Bearer ${credentials.token}`;
    const token = await this.token(merge(parseScopes(scopes), this.extraScopes), false);
    return `Bearer ${token.token}`;
  }

  /**
   * Handles a 401: learns its challenge and says whether another attempt can succeed. `retried` is true
   * when this request already carried fresh authorisation: then the credentials are wrong.
   */
  async unauthorized(header: string | undefined, scopes: readonly string[], retried: boolean): Promise<void> {
    const before = this.challenge;
    this.learn(header);
    const challenge = this.challenge;
    if (!challenge) throw authFailed(this.registry, 'the registry sent no usable WWW-Authenticate challenge');
    if (challenge.scheme === 'basic') {
      const credentials = await this.loadCredentials();
      if (retried || before?.scheme === 'basic' || credentials?.kind !== 'basic') {
        throw authFailed(this.registry, credentials ? undefined : 'no credentials found');
      }
      return;
    }
    if (challenge.scheme !== 'bearer')
      throw authFailed(this.registry, `unsupported auth scheme ${challenge.scheme}`);
    const asked = challenge.params.scope ? parseScopes(challenge.params.scope.split(' ')) : new Map();
    const wanted = merge(parseScopes(scopes), asked);
    if (retried) {
      const credentials = await this.loadCredentials();
      throw authFailed(this.registry, credentials ? 'the token was refused' : 'no credentials found');
    }
    this.extraScopes = merge(this.extraScopes, asked);
    // Drop cached tokens that the registry just refused for these scopes.
    for (let i = this.tokens.length - 1; i >= 0; i--)
      if (covers(this.tokens[i]!.scopes, wanted)) this.tokens.splice(i, 1);
    await this.token(wanted, true);
  }

  private async token(scopes: Map<string, Set<string>>, fresh: boolean): Promise<CachedToken> {
    const now = Date.now();
    if (!fresh) {
      const cached = this.tokens.find((t) => t.expiresAt > now + 5_000 && covers(t.scopes, scopes));
      if (cached) return cached;
    }
    const key = formatScopes(scopes).join(' ');
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const promise = this.fetchToken(scopes).finally(() => this.inflight.delete(key));
    this.inflight.set(key, promise);
    const token = await promise;
    this.tokens.push(token);
    return token;
  }

  /**
   * A plain-HTTP realm would carry the registry's credentials and tokens unencrypted. On the registry's own
   * host it is as safe as the registry's plain HTTP (loopback, or marked insecure); on another host only
   * when registry and realm are both on loopback (a local setup), and `--insecure` does not stretch to other
   * hosts.
   */
  private checkRealm(realm: URL): void {
    if (realm.protocol !== 'http:') return;
    const sameHost = hostName(realm.host) === hostName(this.registry);
    if (isLoopbackHost(this.registry) && (sameHost || isLoopbackHost(realm.host))) return;
    if (!sameHost) {
      throw new VnfpipeError(
        'REGISTRY_AUTH',
        `refusing the plain-HTTP token service ${realm.origin} on another host than the registry`,
        {
          where: this.registry,
          hint: 'credentials and tokens would cross the network unencrypted: the registry must name an https:// token realm',
        },
      );
    }
    if (!this.options.insecure) {
      throw new VnfpipeError('REGISTRY_AUTH', `refusing the plain-HTTP token service ${realm.origin}`, {
        where: this.registry,
        hint: 'credentials and tokens would cross the network unencrypted: use TLS, or mark the registry insecure (--insecure)',
      });
    }
  }

  private async fetchToken(scopes: Map<string, Set<string>>): Promise<CachedToken> {
    const challenge = this.challenge!;
    const realmText = challenge.params.realm;
    let realm: URL;
    try {
      realm = new URL(realmText ?? '');
      if (realm.protocol !== 'https:' && realm.protocol !== 'http:') throw new Error('scheme');
    } catch {
      throw authFailed(this.registry, `the token realm ${JSON.stringify(realmText)} is not an http(s) URL`);
    }
    this.checkRealm(realm);
    const credentials = await this.loadCredentials();
    const scopeList = formatScopes(scopes);
    const service = challenge.params.service;
    let response: Awaited<ReturnType<Transport['send']>>;
    try {
      if (credentials?.kind === 'identity') {
        const form = new URLSearchParams({
          grant_type: 'refresh_token',
          client_id: 'vnfpipe',
          refresh_token: credentials.token,
        });
        if (service) form.set('service', service);
        if (scopeList.length) form.set('scope', scopeList.join(' '));
        response = await this.options.transport.send({
          method: 'POST',
          url: realm,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: Buffer.from(form.toString()),
          signal: this.options.signal,
        });
      } else {
        const url = new URL(realm);
        if (service) url.searchParams.set('service', service);
        for (const scope of scopeList) url.searchParams.append('scope', scope);
        const headers: Record<string, string> = {};
        if (credentials?.kind === 'basic') {
          headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
        }
        response = await this.options.transport.send({
          method: 'GET',
          url,
          headers,
          signal: this.options.signal,
        });
      }
    } catch (error) {
      throw unreachable(realm.origin, error, 'the token service named by the registry does not answer');
    }
    const body = await response.text(1024 * 1024);
    if (response.status === 401 || response.status === 403) throw authFailed(this.registry);
    if (response.status !== 200)
      throw remoteError(response.status, 'token request failed', realm.origin, body);
    return parseTokenResponse(body, scopes, realm.origin);
  }
}

/** `{"token"|"access_token", "expires_in", "issued_at"}`; tokens default to 60 s as the spec says. */
export function parseTokenResponse(
  body: string,
  scopes: Map<string, Set<string>>,
  where: string,
): CachedToken {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new VnfpipeError('OCI_INVALID', 'token service answered with invalid JSON', { where });
  }
  const record = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const token = typeof record.token === 'string' && record.token ? record.token : record.access_token;
  if (typeof token !== 'string' || !token) {
    throw new VnfpipeError('OCI_INVALID', 'token service answered without a token', { where });
  }
  const expiresIn = typeof record.expires_in === 'number' && record.expires_in > 0 ? record.expires_in : 60;
  const issued = typeof record.issued_at === 'string' ? Date.parse(record.issued_at) : Number.NaN;
  const start = Number.isNaN(issued) ? Date.now() : Math.min(issued, Date.now());
  return { scopes, token, expiresAt: start + expiresIn * 1000 };
}
