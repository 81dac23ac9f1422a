/** The image a trust operation is about: its reference resolved to a digest once, with a client for its registry. */
import type { Descriptor } from '../oci/descriptor.js';
import { parseRegistryReference, type RegistryReference } from '../oci/reference.js';
import { resolveDescriptor } from '../registry/artifact.js';
import { type ClientOptions, RegistryClient } from '../registry/client.js';

/** Runs `use` with the registry client and the resolved subject of `ref` (tag, digest, or `latest`); closes the client. */
export async function withSubject<T>(
  ref: string | RegistryReference,
  options: ClientOptions,
  use: (client: RegistryClient, parsed: RegistryReference, subject: Descriptor) => Promise<T>,
): Promise<T> {
  const parsed = typeof ref === 'string' ? parseRegistryReference(ref) : ref;
  const client = new RegistryClient(parsed.registry, options);
  try {
    const subject = await resolveDescriptor(
      client,
      parsed.repository,
      parsed.digest ?? parsed.tag ?? 'latest',
    );
    return await use(client, parsed, subject);
  } finally {
    client.close();
  }
}
