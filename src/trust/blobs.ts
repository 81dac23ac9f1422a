/** Small documents (payloads, envelopes, bundles) in and out of a registry, verified against their digest. */
import { Readable } from 'node:stream';
import type { Descriptor } from '../oci/descriptor.js';
import { digestOf, verifyDigest } from '../oci/digest.js';
import type { RegistryClient } from '../registry/client.js';
import { uploadBlob } from '../registry/upload.js';

/** Documents we read are small; a larger one is refused rather than buffered. */
export const MAX_TRUST_DOCUMENT = 4 * 1024 * 1024;

export async function putBytes(
  client: RegistryClient,
  repository: string,
  bytes: Buffer,
  mediaType: string,
): Promise<Descriptor> {
  const digest = digestOf(bytes);
  await uploadBlob(client, repository, digest, { size: bytes.length, open: () => Readable.from([bytes]) });
  return { mediaType, digest, size: bytes.length };
}

export async function getBytes(
  client: RegistryClient,
  repository: string,
  descriptor: Descriptor,
): Promise<Buffer> {
  const res = await client.fetchBlob(repository, descriptor.digest);
  const bytes = await res.bytes(Math.min(descriptor.size, MAX_TRUST_DOCUMENT));
  verifyDigest(bytes, descriptor.digest, `${client.registry}/${repository}@${descriptor.digest}`);
  return bytes;
}
