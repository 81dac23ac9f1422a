/**
 * `verifyBundle`: is the bundle whole and untouched? Every blob member hashes to its name and has the size
 * its descriptors say; every document the bundle lists is there and every blob it names is present; the
 * files match their digests; with keys, every image carries a cosign signature that verifies with one of
 * them (trust/cosign.ts's check, over the payloads in the bundle). Problems are collected, not thrown, so
 * one run names every damaged blob; a structurally malformed bundle throws BUNDLE_INVALID.
 */
import type { KeyObject } from 'node:crypto';
import { type Digest, DigestStream, digestAlgorithm, isDigest } from '../../oci/digest.js';
import { parseIndex, parseManifestOrIndex } from '../../oci/manifest.js';
import { MAX_DOCUMENT_BYTES, parseJsonDocument } from '../../oci/validate.js';
import { checkSignature, SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE } from '../../trust/cosign.js';
import { loadPublicKey } from '../../trust/keys.js';
import { BundleArchive, malformed } from './archive.js';
import {
  BUNDLE_INDEX_FILE,
  type BundleImage,
  type BundleIndex,
  blobMember,
  parseBundleIndex,
} from './format.js';

export interface BundleProblem {
  /** The images the problem concerns (their pinned source references): a shared blob has several. */
  images: string[];
  /** The blob or document, when the problem is one. */
  digest?: Digest;
  message: string;
}

export interface VerifyBundleOptions {
  /** Public keys (PEM text or KeyObjects): each image must carry a signature verifying with one of them. */
  keys?: readonly (string | KeyObject)[];
  /** Bytes of blobs hashed so far, of all. */
  onProgress?: (doneBytes: number, totalBytes: number, digest: Digest) => void;
}

export interface BundleVerification {
  ok: boolean;
  index: BundleIndex;
  /** Blob members hashed, and their bytes. */
  blobs: number;
  bytes: number;
  /** Per image: signatures that verified with a given key (absent without keys). */
  signatures?: Record<string, number>;
  problems: BundleProblem[];
}

/** Reads the bundle's index; a bundle without a valid one is malformed. */
export async function readBundleIndex(archive: BundleArchive): Promise<BundleIndex> {
  if (!archive.member('oci-layout'))
    throw malformed('no oci-layout member: not an OCI layout bundle', archive.path);
  parseJsonDocument(await archive.read('oci-layout', 64 * 1024), `${archive.path} oci-layout`);
  if (!archive.member(BUNDLE_INDEX_FILE))
    throw malformed(`no ${BUNDLE_INDEX_FILE}: not a bundle vnfpipe wrote`, archive.path);
  const where = `${archive.path} ${BUNDLE_INDEX_FILE}`;
  return parseBundleIndex(await archive.read(BUNDLE_INDEX_FILE, 64 * 1024 * 1024), where);
}

async function hashMember(archive: BundleArchive, name: string, algorithm: 'sha256' | 'sha512') {
  const hash = new DigestStream(algorithm);
  for await (const chunk of archive.stream(archive.member(name)!)) hash.update(chunk as Buffer);
  return hash.digest();
}

/** Which images use each digest, and as what: to name them in a problem. */
function usersOf(index: BundleIndex): Map<Digest, { images: string[]; role: string; size: number }> {
  const users = new Map<Digest, { images: string[]; role: string; size: number }>();
  const add = (digest: Digest, image: BundleImage, role: string, size: number) => {
    const entry = users.get(digest) ?? { images: [], role, size };
    if (!entry.images.includes(image.reference)) entry.images.push(image.reference);
    users.set(digest, entry);
  };
  for (const image of index.images) {
    for (const doc of image.documents)
      add(doc.digest, image, doc.subject ? 'artifact manifest' : 'manifest', doc.size);
    for (const blob of image.blobs) add(blob.digest, image, 'blob', blob.size);
  }
  return users;
}

export async function verifyBundle(
  path: string,
  options: VerifyBundleOptions = {},
): Promise<BundleVerification> {
  const keys = (options.keys ?? []).map((key) => (typeof key === 'string' ? loadPublicKey(key) : key));
  const archive = await BundleArchive.open(path);
  const index = await readBundleIndex(archive);
  const problems: BundleProblem[] = [];
  const users = usersOf(index);
  const problem = (digest: Digest, message: string) => {
    const user = users.get(digest);
    problems.push({
      images: user?.images ?? [],
      digest,
      message: `${user?.role ?? 'blob'} ${digest}: ${message}`,
    });
  };

  // 1. Every blob member: content against its name, size against the descriptors.
  const blobNames = archive.names().filter((n) => n.startsWith('blobs/'));
  let bytes = 0;
  const totalBytes = blobNames.reduce((n, name) => n + archive.member(name)!.size, 0);
  for (const name of blobNames) {
    const parts = name.split('/');
    const digest = `${parts[1]}:${parts[2]}`;
    if (parts.length !== 3 || !isDigest(digest))
      throw malformed(`unexpected member ${JSON.stringify(name)}`, path);
    const member = archive.member(name)!;
    const expected = users.get(digest)?.size;
    if (expected !== undefined && expected !== member.size)
      problem(digest, `has ${member.size} bytes, expected ${expected}`);
    const actual = await hashMember(archive, name, digestAlgorithm(digest));
    if (actual !== digest)
      problem(digest, `content does not match its digest: expected ${digest}, actual ${actual}`);
    bytes += member.size;
    options.onProgress?.(bytes, totalBytes, digest);
  }

  // 2. Everything the index lists is there, and every document's blobs too.
  for (const [digest] of users)
    if (!archive.member(blobMember(digest))) problem(digest, 'is missing from the bundle');
  for (const image of index.images) {
    for (const doc of image.documents) {
      const member = archive.member(blobMember(doc.digest));
      if (!member || member.size > MAX_DOCUMENT_BYTES) continue;
      let parsed: ReturnType<typeof parseManifestOrIndex>;
      try {
        parsed = parseManifestOrIndex(
          await archive.read(member.name, MAX_DOCUMENT_BYTES),
          doc.digest,
          doc.mediaType,
        );
      } catch (error) {
        problems.push({
          images: [image.reference],
          digest: doc.digest,
          message: `manifest ${doc.digest}: ${(error as Error).message}`,
        });
        continue;
      }
      const children =
        parsed.kind === 'index'
          ? parsed.index.manifests
          : [parsed.manifest.config, ...parsed.manifest.layers];
      for (const child of children) {
        const found = archive.member(blobMember(child.digest));
        if (!found)
          problems.push({
            images: [image.reference],
            digest: child.digest,
            message: `manifest ${doc.digest} names ${child.digest}, which the bundle lacks`,
          });
        else if (found.size !== child.size)
          problems.push({
            images: [image.reference],
            digest: child.digest,
            message: `manifest ${doc.digest} says ${child.digest} has ${child.size} bytes, the bundle holds ${found.size}`,
          });
      }
    }
  }

  // The layout's own index.json: every entry is in the bundle.
  if (!archive.member('index.json'))
    problems.push({ images: [], message: 'index.json (the OCI layout index) is missing' });
  else {
    const layoutIndex = parseIndex(
      await archive.read('index.json', MAX_DOCUMENT_BYTES),
      `${path} index.json`,
    );
    for (const entry of layoutIndex.manifests)
      if (!archive.member(blobMember(entry.digest)))
        problems.push({
          images: [],
          digest: entry.digest,
          message: `index.json names ${entry.digest}, which the bundle lacks`,
        });
  }

  // 3. The carried files.
  for (const file of index.files) {
    const member = archive.member(file.path);
    if (!member) {
      problems.push({ images: [], message: `file ${file.path} is missing from the bundle` });
      continue;
    }
    const actual = await hashMember(archive, file.path, digestAlgorithm(file.digest));
    if (actual !== file.digest || member.size !== file.size)
      problems.push({ images: [], message: `file ${file.path}: expected ${file.digest}, actual ${actual}` });
  }

  // 4. Signatures, over the payloads the bundle holds.
  let signatures: Record<string, number> | undefined;
  if (keys.length) {
    signatures = {};
    for (const image of index.images) {
      const verified = await verifiedSignatures(archive, image, keys);
      signatures[image.reference] = verified.count;
      if (verified.count === 0) problems.push({ images: [image.reference], message: verified.reason });
    }
  }
  const result: BundleVerification = {
    ok: problems.length === 0,
    index,
    blobs: blobNames.length,
    bytes,
    problems,
  };
  if (signatures) result.signatures = signatures;
  return result;
}

async function verifiedSignatures(
  archive: BundleArchive,
  image: BundleImage,
  keys: KeyObject[],
): Promise<{ count: number; reason: string }> {
  const sigTag = image.tags.find((t) => t.tag === `sha256-${image.digest.slice('sha256:'.length)}.sig`);
  if (!sigTag)
    return { count: 0, reason: 'not signed: the bundle holds no cosign signature for this digest' };
  const doc = image.documents.find((d) => d.digest === sigTag.digest);
  const member = archive.member(blobMember(sigTag.digest));
  if (!doc || !member) return { count: 0, reason: 'its signature manifest is missing from the bundle' };
  const parsed = parseManifestOrIndex(
    await archive.read(member.name, MAX_DOCUMENT_BYTES),
    sigTag.digest,
    doc.mediaType,
  );
  if (parsed.kind !== 'manifest') return { count: 0, reason: 'its signature tag names an index' };
  let count = 0;
  const reasons = new Set<string>();
  for (const layer of parsed.manifest.layers) {
    const annotation = layer.annotations?.[SIGNATURE_ANNOTATION];
    const payloadMember = archive.member(blobMember(layer.digest));
    if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE || !annotation || !payloadMember) continue;
    const payload = await archive.read(payloadMember.name, MAX_DOCUMENT_BYTES);
    const signature = { payload, signature: Buffer.from(annotation, 'base64'), layer };
    const checks = keys.map((key) => checkSignature(signature, key, image.digest));
    if (checks.some((c) => c.ok)) count++;
    else for (const c of checks) if (!c.ok) reasons.add(c.reason);
  }
  return {
    count,
    reason: `no signature verifies with the given key(s)${reasons.size ? ` (${[...reasons].join('; ')})` : ''}`,
  };
}
