/**
 * The OCI distribution client for one registry: scheme discovery and ping, authorised requests with retries,
 * and the spec's endpoints for blobs, manifests, tags and referrers. Upload strategies live in upload.ts,
 * image copies in copy.ts.
 */
import { createHash } from 'node:crypto';
import { VnfpipeError } from '../errors.js';
import type { Descriptor } from '../oci/descriptor.js';
import { type Digest, isDigest, parseDigest } from '../oci/digest.js';
import { type ImageIndex, parseIndex } from '../oci/manifest.js';
import { MediaType } from '../oci/media-types.js';
import { MAX_DOCUMENT_BYTES } from '../oci/validate.js';
import { Authenticator } from './auth/authenticator.js';
import { type Credentials, resolveCredentials } from './auth/credentials.js';
import { authFailed, invalidAnswer, remoteError, unreachable } from './errors.js';
import {
  DEFAULT_RETRY,
  isNetworkError,
  isRetryableStatus,
  parseRetryAfter,
  type RetryPolicy,
  TransientError,
  withRetry,
} from './retry.js';
import {
  type HttpResponse,
  isLoopbackHost,
  type RequestBody,
  Transport,
  type TransportOptions,
} from './transport.js';

export interface ClientOptions extends TransportOptions {
  /** Explicit credentials (else the environment, then the docker config). */
  credentials?: Credentials;
  /** Read `~/.docker/config.json` and its helpers (default true). */
  dockerConfig?: boolean;
  retry?: Partial<RetryPolicy>;
  signal?: AbortSignal;
  /** Told about each retry (for logs). */
  onRetry?: (what: string, error: unknown, attempt: number) => void;
}

/** Every manifest type we read, so the registry never converts to schema 1. */
export const MANIFEST_ACCEPT = [
  MediaType.ociManifest,
  MediaType.ociIndex,
  MediaType.dockerManifest,
  MediaType.dockerManifestList,
].join(', ');

export interface ApiRequest {
  method: string;
  /** A path under the registry (`/v2/…`) or an absolute URL (upload locations). */
  path: string | URL;
  headers?: Record<string, string>;
  body?: RequestBody;
  /** Token scopes the request needs (`repository:name:pull`). */
  scopes: readonly string[];
  /** For messages: what is being done, and to what. */
  what: string;
  where: string;
  /**
   * Retry 429/5xx and dropped connections (default true). With false, network errors are thrown raw and
   * 5xx answers returned, for callers with their own recovery (uploads resume rather than repeat).
   */
  retry?: boolean;
  onBodyBytes?: (bytes: number) => void;
}

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: Digest;
  descriptor: Descriptor;
}

const GO_TLS_HINT = 'HTTP request to an HTTPS server';

export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}
export function pushScope(repository: string): string {
  return `repository:${repository}:pull,push`;
}

export class RegistryClient {
  readonly registry: string;
  readonly transport: Transport;
  readonly auth: Authenticator;
  private readonly options: ClientOptions;
  private readonly retryPolicy: RetryPolicy;
  private base: Promise<URL> | undefined;

  constructor(registry: string, options: ClientOptions = {}) {
    this.registry = registry;
    this.options = options;
    this.retryPolicy = { ...DEFAULT_RETRY, ...options.retry };
    this.transport = new Transport(options);
    this.auth = new Authenticator({
      registry,
      transport: this.transport,
      insecure: options.insecure,
      signal: options.signal,
      credentials: () =>
        resolveCredentials(registry, {
          credentials: options.credentials,
          env: options.env,
          dockerConfig: options.dockerConfig,
        }),
    });
  }

  get signal(): AbortSignal | undefined {
    return this.options.signal;
  }

  /** `https://host` or `http://host`, found by pinging `/v2/` once. */
  baseUrl(): Promise<URL> {
    this.base ??= this.discover();
    this.base.catch(() => {
      this.base = undefined;
    });
    return this.base;
  }

  /** Checks the registry answers the distribution API (and learns its auth challenge). */
  async ping(): Promise<void> {
    await this.baseUrl();
  }

  /** Verifies credentials: an authorised `GET /v2/` (used by login). */
  async checkLogin(): Promise<void> {
    await this.baseUrl();
    const res = await this.send({
      method: 'GET',
      path: '/v2/',
      scopes: [],
      what: 'log in',
      where: this.registry,
    });
    await res.discard();
    if (res.status !== 200) throw remoteError(res.status, 'login check failed', this.registry);
  }

  private async discover(): Promise<URL> {
    const loopback = isLoopbackHost(this.registry);
    const plainFirst = loopback || this.options.insecure === true;
    // Off loopback only an explicitly insecure registry may use plain HTTP; a TLS server answering our
    // plain request (Go says so in a 400) moves us to HTTPS.
    const schemes = plainFirst ? ['http:', 'https:'] : ['https:'];
    let lastError: unknown;
    for (const scheme of schemes) {
      const url = new URL(`${scheme}//${this.registry}/v2/`);
      let res: HttpResponse;
      try {
        res = await withRetry(
          this.retryPolicy,
          () => this.transport.send({ method: 'GET', url, signal: this.signal }),
          {
            signal: this.signal,
          },
        );
      } catch (error) {
        lastError = error;
        continue;
      }
      const body = await res.text(64 * 1024).catch(() => '');
      if (res.status === 400 && body.includes(GO_TLS_HINT)) continue;
      if (res.status === 401) this.auth.learn(res.header('www-authenticate'));
      else if (res.status !== 200) {
        throw remoteError(res.status, 'not an OCI registry (GET /v2/)', url.origin, body);
      }
      return new URL(`${scheme}//${this.registry}`);
    }
    throw unreachable(this.registry, lastError);
  }

  /** One authorised request, retried on transient failures; the caller checks the status. */
  async send(request: ApiRequest): Promise<HttpResponse> {
    const base = await this.baseUrl();
    const url = typeof request.path === 'string' ? new URL(request.path, base) : request.path;
    const attempt = async (): Promise<HttpResponse> => {
      for (let authTry = 0; ; authTry++) {
        const authorization = await this.auth.header(request.scopes);
        // Never send our credentials to another host than the registry (redirects to blob storage).
        const sameHost = url.host === base.host;
        const headers = { ...request.headers, ...(authorization && sameHost ? { authorization } : {}) };
        const res = await this.transport.send({
          method: request.method,
          url,
          headers,
          body: request.body,
          signal: this.signal,
          onBodyBytes: request.onBodyBytes,
        });
        if (res.status === 401 && sameHost) {
          await res.discard();
          if (authTry >= 2) throw authFailed(this.registry);
          await this.auth.unauthorized(
            res.header('www-authenticate'),
            request.scopes,
            authTry > 0 && authorization !== undefined,
          );
          continue;
        }
        if (request.retry !== false && isRetryableStatus(res.status)) {
          const body = await res.text(64 * 1024).catch(() => '');
          throw new TransientError(
            remoteError(res.status, request.what, request.where, body),
            parseRetryAfter(res.header('retry-after')),
          );
        }
        return res;
      }
    };
    // Callers that run their own recovery (uploads) get network errors as they are.
    if (request.retry === false) return attempt();
    return this.wrapNetwork(
      withRetry(this.retryPolicy, attempt, {
        signal: this.signal,
        onRetry: (error, n) => this.options.onRetry?.(`${request.what} ${request.where}`, error, n),
      }),
      request.where,
    );
  }

  private async wrapNetwork<T>(promise: Promise<T>, where: string): Promise<T> {
    try {
      return await promise;
    } catch (error) {
      if (error instanceof VnfpipeError || (error as Error)?.name === 'AbortError') throw error;
      throw unreachable(where, error);
    }
  }

  /** Retry policy shared with upload and download loops. */
  get retry(): RetryPolicy {
    return this.retryPolicy;
  }

  // ---- blobs ----

  /** The blob's size when the repository has it, else undefined. */
  async blobSize(repository: string, digest: Digest): Promise<number | undefined> {
    const where = `${this.registry}/${repository}@${digest}`;
    const res = await this.send({
      method: 'HEAD',
      path: `/v2/${repository}/blobs/${digest}`,
      scopes: [pullScope(repository)],
      what: 'check blob',
      where,
    });
    await res.discard();
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw remoteError(res.status, 'check blob', where);
    const length = Number(res.header('content-length'));
    return Number.isSafeInteger(length) ? length : 0;
  }

  /** A blob's bytes (unverified: callers hash while streaming). Follows redirects to blob storage. */
  async fetchBlob(repository: string, digest: Digest, offset = 0): Promise<HttpResponse> {
    const where = `${this.registry}/${repository}@${digest}`;
    let path: string | URL = `/v2/${repository}/blobs/${digest}`;
    for (let hop = 0; hop < 5; hop++) {
      const res = await this.send({
        method: 'GET',
        path,
        headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
        scopes: [pullScope(repository)],
        what: 'fetch blob',
        where,
      });
      if (res.status === 200 || res.status === 206) return res;
      const location = res.header('location');
      await res.discard();
      if (res.status >= 300 && res.status < 400 && location) {
        path = new URL(location, await this.baseUrl());
        continue;
      }
      throw remoteError(
        res.status,
        `fetch blob ${digest}`,
        where,
        '',
        res.status === 404 ? 'OCI_NOT_FOUND' : undefined,
      );
    }
    throw invalidAnswer('too many redirects', where);
  }

  /**
   * Sends a GET and reads its (small) body within one retried attempt: a registry that drops the connection
   * mid-answer is asked again, and past the retries the failure names the registry, not a bare "aborted".
   */
  private async fetchDocument(request: ApiRequest): Promise<{ res: HttpResponse; body: Buffer }> {
    try {
      return await withRetry(
        this.retryPolicy,
        async () => {
          const res = await this.send(request);
          return { res, body: await res.bytes(MAX_DOCUMENT_BYTES) };
        },
        { ...(this.signal ? { signal: this.signal } : {}) },
      );
    } catch (error) {
      throw isNetworkError(error) ? unreachable(request.where, error) : error;
    }
  }

  // ---- manifests ----

  async getManifest(
    repository: string,
    reference: string,
    accept = MANIFEST_ACCEPT,
  ): Promise<FetchedManifest> {
    const where = `${this.registry}/${repository}${isDigest(reference) ? '@' : ':'}${reference}`;
    const { res, body: bytes } = await this.fetchDocument({
      method: 'GET',
      path: `/v2/${repository}/manifests/${reference}`,
      headers: { accept },
      scopes: [pullScope(repository)],
      what: 'fetch manifest',
      where,
    });
    if (res.status === 404) throw new VnfpipeError('OCI_NOT_FOUND', 'manifest not found', { where });
    if (res.status !== 200) throw remoteError(res.status, 'fetch manifest', where, bytes.toString('utf8'));
    const digest = documentDigest(bytes, reference, res.header('docker-content-digest'), where);
    const mediaType = manifestMediaType(bytes, res.header('content-type'), where);
    return { bytes, mediaType, digest, descriptor: { mediaType, digest, size: bytes.length } };
  }

  /** The descriptor of a manifest (HEAD), or undefined when absent. */
  async headManifest(repository: string, reference: string): Promise<Descriptor | undefined> {
    const where = `${this.registry}/${repository}${isDigest(reference) ? '@' : ':'}${reference}`;
    const res = await this.send({
      method: 'HEAD',
      path: `/v2/${repository}/manifests/${reference}`,
      headers: { accept: MANIFEST_ACCEPT },
      scopes: [pullScope(repository)],
      what: 'check manifest',
      where,
    });
    await res.discard();
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw remoteError(res.status, 'check manifest', where);
    const digestHeader = res.header('docker-content-digest');
    const digest = isDigest(reference)
      ? reference
      : parseDigest(digestHeader, `${where} (Docker-Content-Digest)`);
    const size = Number(res.header('content-length'));
    const mediaType = (res.header('content-type') ?? '').split(';')[0]!.trim();
    if (!Number.isSafeInteger(size) || !mediaType) {
      // Some registries omit these on HEAD: fall back to GET.
      return (await this.getManifest(repository, digest)).descriptor;
    }
    return { mediaType, digest, size };
  }

  /** PUT by tag or digest; returns the digest and the `OCI-Subject` header (set when referrers are indexed). */
  async putManifest(
    repository: string,
    reference: string,
    bytes: Buffer,
    mediaType: string,
  ): Promise<{ digest: Digest; subject?: string }> {
    const where = `${this.registry}/${repository}${isDigest(reference) ? '@' : ':'}${reference}`;
    const res = await this.send({
      method: 'PUT',
      path: `/v2/${repository}/manifests/${reference}`,
      headers: { 'content-type': mediaType },
      body: bytes,
      scopes: [pushScope(repository)],
      what: 'push manifest',
      where,
    });
    const body = await res.text().catch(() => '');
    if (res.status !== 201 && res.status !== 200) throw remoteError(res.status, 'push manifest', where, body);
    const digest = documentDigest(
      bytes,
      isDigest(reference) ? reference : undefined,
      res.header('docker-content-digest'),
      where,
    );
    const subject = res.header('oci-subject');
    return subject ? { digest, subject } : { digest };
  }

  async deleteManifest(repository: string, digest: Digest): Promise<boolean> {
    const where = `${this.registry}/${repository}@${digest}`;
    const res = await this.send({
      method: 'DELETE',
      path: `/v2/${repository}/manifests/${digest}`,
      scopes: [`repository:${repository}:delete`],
      what: 'delete manifest',
      where,
    });
    const body = await res.text().catch(() => '');
    if (res.status === 404) return false;
    if (res.status !== 202 && res.status !== 200)
      throw remoteError(res.status, 'delete manifest', where, body);
    return true;
  }

  // ---- tags ----

  /** Every tag, following `Link: <…>; rel="next"` pages. */
  async listTags(repository: string, pageSize?: number): Promise<string[]> {
    const where = `${this.registry}/${repository}`;
    const tags: string[] = [];
    let path: string | URL = `/v2/${repository}/tags/list${pageSize ? `?n=${pageSize}` : ''}`;
    for (let page = 0; page < 10_000; page++) {
      const { res, body: bytes } = await this.fetchDocument({
        method: 'GET',
        path,
        scopes: [pullScope(repository)],
        what: 'list tags',
        where,
      });
      const body = bytes.toString('utf8');
      if (res.status === 404) throw new VnfpipeError('OCI_NOT_FOUND', 'repository not found', { where });
      if (res.status !== 200) throw remoteError(res.status, 'list tags', where, body);
      tags.push(...parseTagList(body, where));
      const next = nextLink(res.header('link'));
      if (!next) return tags;
      path = new URL(next, await this.baseUrl());
    }
    throw invalidAnswer('tag listing does not end', where);
  }

  // ---- referrers ----

  /** The referrers API's index, or undefined when the registry has no referrers API (404). */
  async referrersApi(
    repository: string,
    digest: Digest,
    artifactType?: string,
  ): Promise<ImageIndex | undefined> {
    const where = `${this.registry}/${repository}@${digest} (referrers)`;
    const query = artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : '';
    const { res, body } = await this.fetchDocument({
      method: 'GET',
      path: `/v2/${repository}/referrers/${digest}${query}`,
      headers: { accept: MediaType.ociIndex },
      scopes: [pullScope(repository)],
      what: 'list referrers',
      where,
    });
    if (res.status === 404 || res.status === 400 || res.status === 405) return undefined;
    if (res.status !== 200) throw remoteError(res.status, 'list referrers', where, body.toString('utf8'));
    const type = (res.header('content-type') ?? '').split(';')[0]!.trim();
    if (type && type !== MediaType.ociIndex) return undefined;
    return parseIndex(body, where);
  }

  close(): void {
    this.transport.close();
  }
}

/** Checks a document's digest against what we asked for and what the registry claims. */
function documentDigest(
  bytes: Buffer,
  reference: string | undefined,
  header: string | undefined,
  where: string,
): Digest {
  const actual = `sha256:${createHashHex(bytes)}` as Digest;
  if (reference && isDigest(reference)) {
    const algorithm = reference.slice(0, reference.indexOf(':')) as 'sha256' | 'sha512';
    const computed = algorithm === 'sha256' ? actual : (`sha512:${createHashHex(bytes, 'sha512')}` as Digest);
    if (computed !== reference) {
      throw new VnfpipeError(
        'OCI_DIGEST_MISMATCH',
        `manifest has digest ${computed}, expected ${reference}`,
        {
          where,
          hint: 'the registry returned other content than the digest names',
        },
      );
    }
    return reference;
  }
  if (header && isDigest(header) && header.startsWith('sha256:') && header !== actual) {
    throw new VnfpipeError('OCI_DIGEST_MISMATCH', `manifest has digest ${actual}, registry says ${header}`, {
      where,
    });
  }
  return actual;
}

function createHashHex(bytes: Buffer, algorithm: 'sha256' | 'sha512' = 'sha256'): string {
  return createHash(algorithm).update(bytes).digest('hex');
}

function manifestMediaType(bytes: Buffer, contentType: string | undefined, where: string): string {
  let own: unknown;
  try {
    own = (JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown }).mediaType;
  } catch {
    throw invalidAnswer('manifest is not valid JSON', where);
  }
  if (typeof own === 'string' && own) return own;
  const header = (contentType ?? '').split(';')[0]!.trim();
  if (header && header !== 'application/json' && header !== 'text/plain') return header;
  return MediaType.ociManifest;
}

function parseTagList(body: string, where: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw invalidAnswer('tag list is not valid JSON', where);
  }
  const tags = (value as { tags?: unknown } | null)?.tags;
  if (tags === null || tags === undefined) return [];
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string'))
    throw invalidAnswer('tags must be an array of strings', where);
  return tags as string[];
}

/** The target of `Link: </v2/…>; rel="next"`. */
export function nextLink(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const match = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (match && /rel="?next"?/i.test(match[2]!)) return match[1];
  }
  return undefined;
}
