/**
 * Pushing one blob: skip it when the repository has it, mount it from another repository of the same
 * registry, else upload it monolithically (one PUT) or in chunks (PATCH with Content-Range, then PUT). A
 * dropped connection or a 5xx mid-upload is resumed: the upload's offset is read back with GET on its
 * location and the rest sent from there; when the registry cannot resume, a fresh upload starts.
 */
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { VnfpipeError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { type ApiRequest, pullScope, pushScope, type RegistryClient } from './client.js';
import { remoteError, unreachable } from './errors.js';
import { backoffDelay, isNetworkError, isRetryableStatus } from './retry.js';

export interface BlobSource {
  size: number;
  /** A stream of the blob's bytes from `start` up to `end` (exclusive). */
  open(start: number, end: number): Readable;
}

export interface UploadOptions {
  /** Repositories of the same registry to try mounting from. */
  mountFrom?: readonly string[];
  /** Blobs larger than this go in chunks (default 1 GiB: one PUT is fastest on every registry we know). */
  chunkThreshold?: number;
  /** Chunk size when chunked (default 64 MiB). */
  chunkSize?: number;
  /** Bytes of this blob sent so far (may go back after a resumed upload). */
  onProgress?: (current: number) => void;
  /** Skip the existence check (the caller just did it). */
  assumeMissing?: boolean;
  /**
   * An upload session already holding part of the blob (a streamed upload that broke): its offset is read
   * back and the rest sent from there; a fresh upload starts when the registry cannot resume it.
   */
  resumeFrom?: URL;
}

export type UploadResult = 'exists' | 'mounted' | 'uploaded';

const DEFAULT_CHUNK_THRESHOLD = 1024 ** 3;
const DEFAULT_CHUNK_SIZE = 64 * 1024 * 1024;

/** The offset after `Range: 0-<end>` (distribution answers `0-0` for an empty upload too). */
export function offsetFromRange(range: string | undefined): number | undefined {
  const match = /^(?:bytes=)?0-(\d+)$/.exec((range ?? '').trim());
  return match ? Number(match[1]) + 1 : undefined;
}

export class Session {
  location: URL;
  offset = 0;
  constructor(location: URL) {
    this.location = location;
  }
}

export async function uploadBlob(
  client: RegistryClient,
  repository: string,
  digest: Digest,
  source: BlobSource,
  options: UploadOptions = {},
): Promise<UploadResult> {
  const where = `${client.registry}/${repository}@${digest}`;
  if (!options.assumeMissing && (await client.blobSize(repository, digest)) !== undefined) {
    options.onProgress?.(source.size);
    return 'exists';
  }
  const scopes = [pushScope(repository)];
  const chunkThreshold = options.chunkThreshold ?? DEFAULT_CHUNK_THRESHOLD;
  const chunkSize = Math.max(1, options.chunkSize ?? DEFAULT_CHUNK_SIZE);
  let chunked = source.size > chunkThreshold;
  let session = options.resumeFrom ? new Session(options.resumeFrom) : undefined;
  const offset = session ? await resumeOffset(client, session, scopes, where) : undefined;
  if (session && offset !== undefined && offset <= source.size) {
    session.offset = offset;
    chunked = true;
  } else {
    const started = await startUpload(client, repository, digest, options.mountFrom ?? [], where);
    if (started === 'mounted') {
      options.onProgress?.(source.size);
      return 'mounted';
    }
    session = new Session(started);
  }
  const policy = client.retry;
  for (let failures = 0; ; ) {
    try {
      if (!chunked && session.offset === 0) {
        await putBody(client, session, digest, source, 0, source.size, scopes, where, options.onProgress);
      } else {
        while (session.offset < source.size) {
          const end = Math.min(source.size, session.offset + (chunked ? chunkSize : source.size));
          await patchChunk(client, session, source, end, scopes, where, options.onProgress);
        }
        await putBody(
          client,
          session,
          digest,
          source,
          source.size,
          source.size,
          scopes,
          where,
          options.onProgress,
        );
      }
      return 'uploaded';
    } catch (error) {
      const transient =
        isNetworkError(error) || (error instanceof UploadStatusError && isRetryableStatus(error.status));
      if (!transient || ++failures >= policy.attempts || client.signal?.aborted) {
        if (error instanceof UploadStatusError) throw error.error;
        throw isNetworkError(error) ? unreachable(where, error) : error;
      }
      await delay(
        backoffDelay(policy, failures, error instanceof UploadStatusError ? error.retryAfterMs : undefined),
      );
      const resumed = await resumeOffset(client, session, scopes, where);
      if (resumed === undefined) {
        session = new Session((await startUpload(client, repository, digest, [], where)) as URL);
        chunked = chunked || source.size > chunkSize;
      } else {
        session.offset = resumed;
        // From here on, send the rest in PATCHes so each step can be resumed again.
        chunked = chunked || source.size > chunkSize;
      }
    }
  }
}

export class UploadStatusError extends Error {
  readonly status: number;
  readonly error: VnfpipeError;
  readonly retryAfterMs: number | undefined;
  constructor(status: number, error: VnfpipeError, retryAfterMs?: number) {
    super(error.message);
    this.status = status;
    this.error = error;
    this.retryAfterMs = retryAfterMs;
  }
}

/** POST …/uploads/ (with mount=&from= first when asked): 201 means mounted, 202 gives the upload's location. */
export async function startUpload(
  client: RegistryClient,
  repository: string,
  /** Needed only to mount (the digest of a streamed upload is not known yet). */
  digest: Digest | undefined,
  mountFrom: readonly string[],
  where: string,
): Promise<URL | 'mounted'> {
  const attempts = [...mountFrom.filter((from) => from !== repository), undefined];
  for (const [n, from] of attempts.entries()) {
    const query =
      from && digest ? `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}` : '';
    let res: Awaited<ReturnType<RegistryClient['send']>>;
    try {
      res = await client.send({
        method: 'POST',
        path: `/v2/${repository}/blobs/uploads/${query}`,
        scopes: from ? [pushScope(repository), pullScope(from)] : [pushScope(repository)],
        what: from ? 'mount blob' : 'start upload',
        where,
      });
    } catch (error) {
      // No pull access to a remembered source repository: upload instead.
      if (from && error instanceof VnfpipeError && error.code === 'REGISTRY_AUTH') continue;
      throw error;
    }
    const body = await res.text().catch(() => '');
    if (from && res.status === 201) return 'mounted';
    if (res.status !== 202) {
      if (from) continue;
      throw remoteError(res.status, 'start upload', where, body);
    }
    const location = res.header('location');
    if (!location) throw new VnfpipeError('OCI_INVALID', 'upload started without a Location', { where });
    const url = new URL(location, await client.baseUrl());
    // A refused mount started an upload instead; another source may still hold the blob.
    if (from && attempts[n + 1] !== undefined) {
      await cancelUpload(client, url, repository, where);
      continue;
    }
    return url;
  }
  throw new VnfpipeError('IO', 'cannot start an upload', { where });
}

/** Best effort: the registry drops an unused upload session by itself after a while anyway. */
export async function cancelUpload(
  client: RegistryClient,
  location: URL,
  repository: string,
  where: string,
): Promise<void> {
  try {
    const res = await client.send({
      method: 'DELETE',
      path: location,
      scopes: [pushScope(repository)],
      what: 'cancel upload',
      where,
      retry: false,
    });
    await res.discard();
  } catch {}
}

function request(
  session: Session,
  extra: Partial<ApiRequest> & Pick<ApiRequest, 'method' | 'scopes' | 'where'>,
): ApiRequest {
  return { path: session.location, what: 'upload blob', retry: false, ...extra };
}

export async function checkStatus(
  res: Awaited<ReturnType<RegistryClient['send']>>,
  ok: number,
  what: string,
  where: string,
) {
  if (res.status === ok) return;
  const body = await res.text().catch(() => '');
  const retryAfter = res.header('retry-after');
  throw new UploadStatusError(
    res.status,
    remoteError(res.status, what, where, body),
    retryAfter ? Number(retryAfter) * 1000 || undefined : undefined,
  );
}

async function patchChunk(
  client: RegistryClient,
  session: Session,
  source: BlobSource,
  end: number,
  scopes: readonly string[],
  where: string,
  onProgress: ((current: number) => void) | undefined,
): Promise<void> {
  const start = session.offset;
  let sent = start;
  const res = await client.send(
    request(session, {
      method: 'PATCH',
      scopes,
      where,
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${end - 1}` },
      body: { length: end - start, open: () => source.open(start, end) },
      onBodyBytes: (bytes) => {
        sent += bytes;
        onProgress?.(sent);
      },
    }),
  );
  await checkStatus(res, 202, 'upload chunk', where);
  await res.discard();
  const location = res.header('location');
  if (location) session.location = new URL(location, await client.baseUrl());
  session.offset = offsetFromRange(res.header('range')) ?? end;
  if (session.offset !== end) {
    throw new VnfpipeError('IO', `registry took the chunk up to ${session.offset}, not ${end}`, { where });
  }
}

/** The closing PUT with `?digest=`, carrying the bytes from `start` (none when the chunks sent them). */
async function putBody(
  client: RegistryClient,
  session: Session,
  digest: Digest,
  source: BlobSource,
  start: number,
  end: number,
  scopes: readonly string[],
  where: string,
  onProgress: ((current: number) => void) | undefined,
): Promise<void> {
  const url = new URL(session.location);
  url.searchParams.set('digest', digest);
  let sent = start;
  const length = end - start;
  const res = await client.send({
    method: 'PUT',
    path: url,
    scopes,
    where,
    what: 'upload blob',
    retry: false,
    headers: { 'content-type': 'application/octet-stream' },
    body: length > 0 ? { length, open: () => source.open(start, end) } : Buffer.alloc(0),
    onBodyBytes: (bytes) => {
      sent += bytes;
      onProgress?.(sent);
    },
  });
  await checkStatus(res, 201, 'upload blob', where);
  await res.discard();
}

/**
 * GET on the upload's location: its offset, or undefined when the registry dropped the upload — or when
 * it answers `0-0`, which distribution sends for an empty upload and for a one-byte one alike: a fresh
 * upload is the only safe way on from there.
 */
async function resumeOffset(
  client: RegistryClient,
  session: Session,
  scopes: readonly string[],
  where: string,
): Promise<number | undefined> {
  let res: Awaited<ReturnType<RegistryClient['send']>>;
  try {
    res = await client.send({ method: 'GET', path: session.location, scopes, where, what: 'query upload' });
  } catch {
    return undefined;
  }
  await res.discard();
  if (res.status !== 204) return undefined;
  const location = res.header('location');
  if (location) session.location = new URL(location, await client.baseUrl());
  const offset = offsetFromRange(res.header('range'));
  return offset === undefined || offset <= 1 ? undefined : offset;
}
