/**
 * A hostile registry for tests: serves an OCI layout over the distribution API exactly as the files are,
 * checking nothing (digests, sizes and media types are whatever the layout says), so a client meets a
 * malformed manifest or a blob that does not match its digest the way it would from a compromised server.
 * Read-only: `/v2/`, manifests by tag or digest, blobs by digest (GET and HEAD). Listens on 127.0.0.1.
 */
import { readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface LayoutRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  stop(): Promise<void>;
}

interface IndexEntry {
  digest: string;
  mediaType?: string;
  annotations?: Record<string, string>;
}

const ROUTE = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/;

/** Serves `layout` for every repository name. */
export async function serveLayout(layout: string): Promise<LayoutRegistry> {
  const index = () =>
    (JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: IndexEntry[] }).manifests;
  const blobFile = (digest: string) => join(layout, 'blobs', ...digest.split(':'));

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/v2/' || path === '/v2') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    const match = ROUTE.exec(path);
    if (!match) {
      res.writeHead(404).end();
      return;
    }
    const [, , kind, reference] = match as unknown as [string, string, string, string];
    let digest = reference;
    let mediaType = 'application/octet-stream';
    if (kind === 'manifests') {
      const entry = index().find((m) =>
        reference.includes(':')
          ? m.digest === reference
          : m.annotations?.['org.opencontainers.image.ref.name'] === reference,
      );
      if (!entry && !reference.includes(':')) {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
        return;
      }
      digest = entry?.digest ?? reference;
      mediaType = entry?.mediaType ?? 'application/vnd.oci.image.manifest.v1+json';
    }
    let bytes: Buffer;
    try {
      if (!statSync(blobFile(digest)).isFile()) throw new Error('not a file');
      bytes = readFileSync(blobFile(digest));
    } catch {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN"}]}');
      return;
    }
    res.writeHead(200, {
      'content-type': mediaType,
      'content-length': bytes.length,
      'docker-content-digest': digest,
    });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
