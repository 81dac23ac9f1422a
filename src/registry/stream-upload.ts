/**
 * A blob upload fed while the blob is being produced (a layer being compressed): bytes go to the registry in
 * PATCHes with Content-Range as they arrive, and the closing `PUT ?digest=` — where the registry checks the
 * digest — once the producer knows it. The producer also writes every byte to a file first, so nothing is
 * lost when the registry drops the connection: the upload then goes on from the file, resumed at the offset
 * the registry reports or restarted (upload.ts), and the streamed part is only ever a head start.
 */
import type { Readable } from 'node:stream';
import type { Digest } from '../oci/digest.js';
import { pushScope, type RegistryClient } from './client.js';
import {
  type BlobSource,
  checkStatus,
  offsetFromRange,
  Session,
  startUpload,
  type UploadResult,
  uploadBlob,
} from './upload.js';

export interface StreamingUploadOptions {
  /** Bytes sent per PATCH (default 8 MiB). */
  chunkSize?: number;
  /** Unsent bytes held before `write` waits for the registry (default 4 chunks). */
  maxBuffered?: number;
  /** Re-reads produced bytes (from the producer's file) when the upload has to go on without the stream. */
  readBack(start: number, end: number): Readable;
}

const DEFAULT_CHUNK = 8 * 1024 * 1024;

export class StreamingUpload {
  private readonly client: RegistryClient;
  private readonly repository: string;
  private readonly options: StreamingUploadOptions;
  private readonly chunkSize: number;
  private readonly maxBuffered: number;
  private readonly scopes: string[];
  private readonly where: string;
  private readonly session: Promise<Session | undefined>;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private produced = 0;
  private sending: Promise<void> | undefined;
  /** Set once streaming failed: later bytes only go to the file, the rest is sent from it at the end. */
  private broken: unknown;

  constructor(client: RegistryClient, repository: string, options: StreamingUploadOptions) {
    this.client = client;
    this.repository = repository;
    this.options = options;
    this.chunkSize = Math.max(1, options.chunkSize ?? DEFAULT_CHUNK);
    this.maxBuffered = Math.max(this.chunkSize, options.maxBuffered ?? this.chunkSize * 4);
    this.scopes = [pushScope(repository)];
    this.where = `${client.registry}/${repository} (streamed upload)`;
    // The session starts now, so it is ready when the first compressed bytes are.
    this.session = startUpload(client, repository, undefined, [], this.where).then(
      (started) => (started === 'mounted' ? undefined : new Session(started)),
      (error) => {
        this.broken = error;
        return undefined;
      },
    );
  }

  /** Why streaming stopped (the upload then finishes from the file), if it did. */
  get failure(): unknown {
    return this.broken;
  }

  /** Hands on produced bytes; waits only when too many are still unsent. */
  async write(data: Buffer): Promise<void> {
    this.produced += data.length;
    if (this.broken) return;
    this.pending.push(data);
    this.pendingBytes += data.length;
    if (!this.sending && this.pendingBytes >= this.chunkSize) this.sending = this.drain(false);
    if (this.pendingBytes >= this.maxBuffered && this.sending) await this.sending;
  }

  /** PATCHes what is pending, as long as a chunk's worth (or, at the end, anything) is there. */
  private async drain(final: boolean): Promise<void> {
    try {
      const session = await this.session;
      while (!this.broken && session && this.pendingBytes >= (final ? 1 : this.chunkSize)) {
        const body = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
        this.pending = [];
        this.pendingBytes = 0;
        await this.patch(session, body);
      }
    } catch (error) {
      this.broken = error;
    } finally {
      if (this.broken) {
        this.pending = [];
        this.pendingBytes = 0;
      }
      this.sending = undefined;
    }
  }

  private async patch(session: Session, body: Buffer): Promise<void> {
    const start = session.offset;
    const end = start + body.length;
    const res = await this.client.send({
      method: 'PATCH',
      path: session.location,
      scopes: this.scopes,
      what: 'upload chunk',
      where: this.where,
      retry: false,
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${end - 1}` },
      body,
    });
    await checkStatus(res, 202, 'upload chunk', this.where);
    await res.discard();
    const location = res.header('location');
    if (location) session.location = new URL(location, await this.client.baseUrl());
    session.offset = offsetFromRange(res.header('range')) ?? end;
    if (session.offset !== end)
      throw new Error(`registry took the chunk up to ${session.offset}, not ${end}`);
  }

  /**
   * Sends what is left and closes the upload with the digest (the registry verifies it). When streaming
   * broke, the blob is sent from the file instead: resumed where the registry has it, or from the start.
   */
  async finish(digest: Digest, size: number): Promise<UploadResult> {
    if (size !== this.produced) throw new Error(`streamed ${this.produced} bytes, the blob has ${size}`);
    while (this.sending) await this.sending;
    this.sending = this.drain(true);
    await this.sending;
    const session = await this.session;
    if (!this.broken && session) {
      try {
        const url = new URL(session.location);
        url.searchParams.set('digest', digest);
        const res = await this.client.send({
          method: 'PUT',
          path: url,
          scopes: this.scopes,
          what: 'upload blob',
          where: `${this.client.registry}/${this.repository}@${digest}`,
          retry: false,
          headers: { 'content-type': 'application/octet-stream' },
          body: Buffer.alloc(0),
        });
        await checkStatus(res, 201, 'upload blob', this.where);
        await res.discard();
        return 'uploaded';
      } catch (error) {
        this.broken = error;
      }
    }
    const source: BlobSource = { size, open: (start, end) => this.options.readBack(start, end) };
    return uploadBlob(this.client, this.repository, digest, source, {
      ...(session ? { resumeFrom: session.location } : {}),
    });
  }
}
