/** Labels vnfpipe puts on what it creates, so the target itself records which revision is which. */
export const LABEL = {
  workload: 'io.vnfpipe.workload',
  revision: 'io.vnfpipe.revision',
  specHash: 'io.vnfpipe.spec-hash',
  image: 'io.vnfpipe.image',
  created: 'io.vnfpipe.created',
  managed: 'io.vnfpipe.managed',
  role: 'io.vnfpipe.role',
} as const;
