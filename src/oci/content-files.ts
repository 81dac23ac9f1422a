/**
 * What stands for an image's content in a step cache's fingerprint, when a step takes an image (scan, push).
 * Cheap to import: no I/O.
 */
import type { ImageRef } from '../pipeline/kinds.js';

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * The files whose content stands for the image's, or undefined when nothing local does: a registry tag can
 * move, so a step taking one is not cached. An image with its digest needs no file (the digest is part of
 * the fingerprint); `oci:<dir>[:ref]` has its layout's index.json, `docker-archive:<file>` the archive.
 */
export function imageContentFiles(image: ImageRef | string): string[] | undefined {
  if (typeof image !== 'string' && DIGEST.test(image.digest ?? '')) return [];
  const ref = typeof image === 'string' ? image : image.ref;
  if (ref.startsWith('oci:')) return [`${ref.slice(4).split(':')[0]}/index.json`];
  if (ref.startsWith('docker-archive:')) return [ref.slice('docker-archive:'.length).split(':')[0]!];
  return DIGEST.test(ref.split('@')[1] ?? '') ? [] : undefined;
}
