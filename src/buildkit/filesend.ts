/**
 * FileSend.DiffCopy as the `tar` and `oci` exporters use it: the daemon streams one archive to us as
 * BytesMessages and waits for our end of the call before the solve finishes, so the sink has consumed every
 * byte (and, for an image, checked it) by the time the build returns. The `local` exporter's file-by-file
 * form of the same call is not served.
 */
import type { Http2ServerRequest, Http2ServerResponse, IncomingHttpHeaders } from 'node:http2';
import { Readable } from 'node:stream';
import { bytesMessageData, GRPC_INTERNAL, GRPC_OK, grpcMessages, startGrpcResponse } from './wire.js';

export const FILESEND_PATH = '/moby.filesync.v1.FileSend/DiffCopy';

/** Consumes the archive; resolves once it is stored. `metadata` holds the exporter's `exporter-md-*` headers. */
export type FileSendSink = (archive: Readable, metadata: Record<string, string>) => Promise<void>;

const META_PREFIX = 'exporter-md-';

function exporterMetadata(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (key.startsWith(META_PREFIX) && typeof value === 'string') out[key.slice(META_PREFIX.length)] = value;
  }
  return out;
}

export function serveFileSend(
  request: Http2ServerRequest,
  response: Http2ServerResponse,
  sink: FileSendSink,
): void {
  const finish = startGrpcResponse(request, response);
  async function* payloads() {
    for await (const message of grpcMessages(request)) {
      const data = bytesMessageData(message);
      if (data.length > 0) yield data;
    }
  }
  const archive = Readable.from(payloads(), { objectMode: false });
  sink(archive, exporterMetadata(request.headers)).then(
    () => {
      // A sink that stopped early (it found what it needed) still lets the daemon finish sending.
      archive.resume();
      archive.once('end', () => finish(GRPC_OK));
      archive.once('error', (error) => finish(GRPC_INTERNAL, error.message));
      if (archive.readableEnded) finish(GRPC_OK);
    },
    (error: unknown) => {
      archive.destroy();
      finish(GRPC_INTERNAL, error instanceof Error ? error.message : String(error));
    },
  );
}
