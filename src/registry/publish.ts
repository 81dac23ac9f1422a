/**
 * A build's blob publisher for a registry repository: each layer is streamed into an upload while it is
 * compressed (stream-upload.ts), and blobs the layout already holds (cached and base layers, the config)
 * are uploaded from it meanwhile. Manifests and tags are left to the push that follows, which then finds
 * every blob present. Failures are logged, never thrown: the push uploads whatever is missing.
 */
import { closeSync, createReadStream, openSync, read } from 'node:fs';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { BlobPublisher, BlobStream } from '../image/types.js';
import type { Digest } from '../oci/digest.js';
import type { RegistryReference } from '../oci/reference.js';
import { type ClientOptions, RegistryClient } from './client.js';
import { StreamingUpload } from './stream-upload.js';
import { uploadBlob } from './upload.js';

export interface RegistryPublisherOptions {
  /** Client settings (credentials, TLS, retries) for the destination registry. */
  client?: ClientOptions;
  /** Bytes per PATCH of a streamed layer (default 8 MiB). */
  chunkSize?: number;
  onLog?: (line: string) => void;
}

export interface RegistryPublisher extends BlobPublisher {
  /** Blobs published so far, by how. */
  readonly counts: { streamed: number; resumed: number; uploaded: number; present: number; failed: number };
  close(): void;
}

export function registryPublisher(
  dest: Pick<RegistryReference, 'registry' | 'repository'>,
  options: RegistryPublisherOptions = {},
): RegistryPublisher {
  const client = new RegistryClient(dest.registry, options.client);
  const repository = dest.repository;
  const tasks: Promise<void>[] = [];
  const counts = { streamed: 0, resumed: 0, uploaded: 0, present: 0, failed: 0 };
  const seen = new Set<Digest>();
  const failed = (what: string) => (error: unknown) => {
    counts.failed++;
    options.onLog?.(
      `could not publish ${what} to ${dest.registry}/${repository} during the build (the push sends it): ${(error as Error)?.message ?? error}`,
    );
  };
  return {
    counts,
    begin(file: string): BlobStream {
      // Opened now: the file is renamed into the layout when complete, and a resumed upload reads it again.
      const fd = openSync(file, 'r');
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        closeSync(fd);
      };
      const upload = new StreamingUpload(client, repository, {
        ...(options.chunkSize ? { chunkSize: options.chunkSize } : {}),
        readBack: (start, end) => Readable.from(readRange(fd, start, end)),
      });
      return {
        write: (data) => upload.write(data),
        end(digest, size) {
          seen.add(digest);
          tasks.push(
            upload
              .finish(digest, size)
              .then(
                (result) => {
                  if (result === 'exists') counts.present++;
                  else if (upload.failure) {
                    counts.resumed++;
                    options.onLog?.(
                      `layer ${digest} sent again from the layout after the stream broke: ${(upload.failure as Error)?.message ?? upload.failure}`,
                    );
                  } else counts.streamed++;
                },
                failed(`layer ${digest}`),
              )
              .finally(close),
          );
        },
        abort: close,
      };
    },
    existing(blob, file) {
      if (seen.has(blob.digest)) return;
      seen.add(blob.digest);
      const source = {
        size: blob.size,
        open: (start: number, end: number) => createReadStream(file, { start, end: end - 1 }),
      };
      tasks.push(
        uploadBlob(client, repository, blob.digest, source).then(
          (result) => {
            if (result === 'uploaded') counts.uploaded++;
            else counts.present++;
          },
          failed(`blob ${blob.digest}`),
        ),
      );
    },
    async settle() {
      while (tasks.length > 0) await Promise.all(tasks.splice(0));
    },
    close: () => client.close(),
  };
}

const readAt = promisify(read);

/** Bytes `[start, end)` of an open file; the descriptor stays open (a stream over it would close it). */
async function* readRange(fd: number, start: number, end: number): AsyncGenerator<Buffer> {
  for (let at = start; at < end; ) {
    const buffer = Buffer.allocUnsafe(Math.min(1024 * 1024, end - at));
    const { bytesRead } = await readAt(fd, buffer, 0, buffer.length, at);
    if (bytesRead === 0) throw new Error(`blob file ends at ${at}, before ${end}`);
    at += bytesRead;
    yield buffer.subarray(0, bytesRead);
  }
}
