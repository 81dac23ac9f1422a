/**
 * Whether an image a build step recorded is still whole in its OCI layout, cheaply enough to ask on every
 * cache check: the manifest (or index, and each manifest it lists) is read and its digest checked — they are
 * small — while the config and layer blobs are only looked at (present, with the size the manifest gives),
 * never read. Synchronous file calls: a handful of `stat`s and small reads, faster on the main thread than
 * each waiting for libuv's thread pool on a busy machine. The layout is content-addressed and written by renaming finished blobs into place, so a blob
 * of the right name and size is the blob, short of someone editing files in `blobs/` by hand. And the ref
 * name the output carries (`oci:<dir>:<name>`) must still name that digest, since later steps may use it.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ImageRef } from '../pipeline/kinds.js';

const REF_NAME = 'org.opencontainers.image.ref.name';
const MAX_DOCUMENT = 4 * 1024 * 1024;

interface Descriptor {
  mediaType?: string;
  digest?: string;
  size?: number;
  annotations?: Record<string, string>;
}

function short(digest: string): string {
  return digest.slice(0, 19);
}

/** The reason the image is no longer usable from its layout, or undefined when it is whole. */
export async function layoutImageProblem(cwd: string, output: ImageRef): Promise<string | undefined> {
  if (!output?.layout || !output.digest?.startsWith('sha256:')) return undefined;
  const layout = resolve(cwd, output.layout);
  const blobPath = (digest: string) => join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));

  const readDocument = async (digest: string, what: string): Promise<Record<string, unknown> | string> => {
    let bytes: Buffer;
    try {
      const info = statSync(blobPath(digest));
      if (!info.isFile() || info.size > MAX_DOCUMENT) return `${what} ${short(digest)} is not a small file`;
      bytes = readFileSync(blobPath(digest));
    } catch {
      return `${what} ${short(digest)} is missing from ${output.layout}`;
    }
    if (`sha256:${createHash('sha256').update(bytes).digest('hex')}` !== digest)
      return `${what} ${short(digest)} in ${output.layout} was modified`;
    try {
      const doc = JSON.parse(bytes.toString('utf8')) as unknown;
      if (doc && typeof doc === 'object' && !Array.isArray(doc)) return doc as Record<string, unknown>;
    } catch {
      // Falls through.
    }
    return `${what} ${short(digest)} is not a JSON document`;
  };

  const blobProblem = async (descriptor: Descriptor, what: string): Promise<string | undefined> => {
    const digest = descriptor.digest;
    if (typeof digest !== 'string' || !digest.startsWith('sha256:')) return undefined;
    const info = statSync(blobPath(digest), { throwIfNoEntry: false });
    if (!info?.isFile()) return `${what} ${short(digest)} is missing from ${output.layout}`;
    if (typeof descriptor.size === 'number' && info.size !== descriptor.size)
      return `${what} ${short(digest)} has ${info.size} bytes, the manifest says ${descriptor.size}`;
    return undefined;
  };

  const imageProblem = async (digest: string, depth: number): Promise<string | undefined> => {
    const doc = await readDocument(digest, depth === 0 ? 'image manifest' : 'platform manifest');
    if (typeof doc === 'string') return doc;
    if (Array.isArray(doc.manifests)) {
      if (depth > 0) return undefined;
      const children = (doc.manifests as Descriptor[]).filter((d) => typeof d?.digest === 'string');
      const problems = await Promise.all(children.map((child) => imageProblem(child.digest!, depth + 1)));
      return problems.find((p) => p !== undefined);
    }
    const blobs: Array<[Descriptor, string]> = [];
    if (doc.config && typeof doc.config === 'object') blobs.push([doc.config as Descriptor, 'config blob']);
    if (Array.isArray(doc.layers))
      for (const layer of doc.layers as Descriptor[]) if (layer) blobs.push([layer, 'layer blob']);
    const problems = await Promise.all(blobs.map(([descriptor, what]) => blobProblem(descriptor, what)));
    return problems.find((p) => p !== undefined);
  };

  const problem = await imageProblem(output.digest, 0);
  if (problem) return problem;

  // `oci:<dir>:<name>`: the name later steps may use must still mean this image.
  const prefix = `oci:${output.layout}:`;
  if (!output.ref?.startsWith(prefix)) return undefined;
  const name = output.ref.slice(prefix.length);
  let index: { manifests?: Descriptor[] };
  try {
    index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests?: Descriptor[] };
  } catch {
    return `${output.layout}/index.json is missing or unreadable`;
  }
  const entry = (index.manifests ?? []).find((d) => d?.annotations?.[REF_NAME] === name);
  if (!entry) return `${output.layout} no longer has an image named '${name}'`;
  if (entry.digest !== output.digest)
    return `'${name}' in ${output.layout} now names ${short(entry.digest ?? '?')} (built ${short(output.digest)})`;
  return undefined;
}
