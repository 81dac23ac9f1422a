/**
 * An OCI image layout as one tar stream (what BuildKit's `oci` exporter sends, `skopeo copy oci-archive:`
 * writes), read as it arrives into our layout: every `blobs/<alg>/<hex>` member is hashed while written and
 * must match its name, `index.json` is kept, and once the stream ends the image it names must be complete —
 * its manifest (or index, with every manifest in it), config and layers all among the blobs received or
 * already in the layout. Member names are never used as paths.
 */
import type { Readable } from 'node:stream';
import type { ReadEntry } from 'tar';
import { VnfpipeError } from '../errors.js';
import type { Descriptor } from './descriptor.js';
import { type Digest, isDigest } from './digest.js';
import type { OciLayout } from './layout.js';
import { parseIndex, parseManifestOrIndex } from './manifest.js';
import { collectMember, readTarMembers } from './tar-members.js';
import { MAX_DOCUMENT_BYTES } from './validate.js';

export interface OciArchiveStreamOptions {
  /** Names the stream in errors (`buildkitd oci export`). */
  where: string;
  signal?: AbortSignal;
}

function invalid(message: string, where: string): VnfpipeError {
  return new VnfpipeError('OCI_INVALID', message, {
    where,
    hint: 'the exporter sent an OCI archive this reader does not accept: build again',
  });
}

const BLOB_MEMBER = /^(?:\.\/)?blobs\/(sha256|sha512)\/([0-9a-f]{64}|[0-9a-f]{128})$/;

/** Copies the archive's blobs into the layout and returns the descriptor `index.json` names (one image). */
export async function importOciArchiveStream(
  body: Readable,
  layout: OciLayout,
  options: OciArchiveStreamOptions,
): Promise<Descriptor> {
  const { where } = options;
  let indexBytes: Buffer | undefined;

  const blobInto = async (entry: ReadEntry, digest: Digest) => {
    if (await layout.hasBlob(digest)) {
      entry.resume();
      return;
    }
    const writer = await layout.createBlobWriter();
    try {
      for await (const chunk of entry) await writer.write(chunk as Buffer);
      // The digest the member is named by, or the blob is refused.
      await writer.commit(digest);
    } catch (error) {
      await writer.abort();
      throw error instanceof VnfpipeError
        ? new VnfpipeError(error.code, error.message, { where, cause: error })
        : error;
    }
  };

  await readTarMembers(
    body,
    (entry, track) => {
      const name = entry.path;
      const blob = BLOB_MEMBER.exec(name);
      if (entry.type !== 'File' && entry.type !== 'OldFile') {
        entry.resume();
      } else if (blob) {
        const digest = `${blob[1]}:${blob[2]}`;
        if (!isDigest(digest) || (blob[1] === 'sha256') !== (blob[2]!.length === 64)) {
          entry.resume();
          track(Promise.reject(invalid(`member ${name} is not named by a digest`, where)));
        } else track(blobInto(entry, digest));
      } else if (name === 'index.json' || name === './index.json') {
        if (entry.size > MAX_DOCUMENT_BYTES) {
          entry.resume();
          track(Promise.reject(invalid(`index.json is ${entry.size} bytes`, where)));
        } else {
          track(
            collectMember(entry).then((data) => {
              indexBytes = data;
            }),
          );
        }
      } else {
        entry.resume();
      }
    },
    options.signal,
  );
  if (!indexBytes) throw invalid('the archive has no index.json', where);
  const index = parseIndex(indexBytes, `${where}:index.json`);
  if (index.manifests.length !== 1) {
    throw invalid(`index.json lists ${index.manifests.length} images, not one`, where);
  }
  const top = index.manifests[0]!;
  await requireComplete(layout, top, where);
  return top;
}

/** The descriptor's document and everything it reaches are blobs of the layout, with the right sizes. */
async function requireComplete(
  layout: OciLayout,
  descriptor: Descriptor,
  where: string,
  depth = 0,
): Promise<void> {
  if (depth > 2) throw invalid('indexes nested more than two deep', where);
  const bytes = await layout.readBlob(descriptor.digest, MAX_DOCUMENT_BYTES).catch((error: unknown) => {
    throw invalid(`the archive lacks ${descriptor.digest}, which index.json names (${String(error)})`, where);
  });
  if (bytes.length !== descriptor.size) {
    throw invalid(
      `${descriptor.digest} is ${bytes.length} bytes, its descriptor says ${descriptor.size}`,
      where,
    );
  }
  const document = parseManifestOrIndex(bytes, `${where}:${descriptor.digest}`, descriptor.mediaType);
  if (document.kind === 'index') {
    for (const child of document.index.manifests) await requireComplete(layout, child, where, depth + 1);
    return;
  }
  const { manifest } = document;
  for (const blob of [manifest.config, ...manifest.layers]) {
    const size = await layout.blobSize(blob.digest).catch(() => undefined);
    if (size === undefined) throw invalid(`the archive lacks blob ${blob.digest}`, where);
    if (size !== blob.size) {
      throw invalid(`blob ${blob.digest} is ${size} bytes, the manifest says ${blob.size}`, where);
    }
  }
}
