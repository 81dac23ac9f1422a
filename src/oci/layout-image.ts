import type { Descriptor } from './descriptor.js';
import type { Digest } from './digest.js';
import type { OciLayout } from './layout.js';

/** An image in an OCI layout as builders return it: `oci:<dir>:<name>`, its digest and media type. */
export interface LayoutImage {
  ref: string;
  digest: Digest;
  layout: string;
  mediaType: string;
}

/** Names `descriptor` `name` in the layout (replacing what the name meant) and describes the result. */
export async function tagLayoutImage(
  layout: OciLayout,
  name: string,
  descriptor: Descriptor,
): Promise<LayoutImage> {
  await layout.tag(name, descriptor);
  return {
    ref: `oci:${layout.dir}:${name}`,
    digest: descriptor.digest,
    layout: layout.dir,
    mediaType: descriptor.mediaType,
  };
}
