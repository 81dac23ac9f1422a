/**
 * The project templates `vnfpipe init --template <name>` writes. Each is a folder under `templates/` in the
 * package, copied as it is: `vnfpipe.config.ts`, its sources, a `tsconfig.json` that type-checks the
 * pipeline against vnfpipe's types, and the CI workflow `vnfpipe ci github` generates from it.
 */
export interface ProjectTemplate {
  name: string;
  /** One line for `vnfpipe init --list` and the README. */
  summary: string;
  /** What the host needs for `vnfpipe run` to succeed. */
  needs: string;
  /** The command that shows the template works without running it everywhere (kubernetes: render). */
  next: string;
}

export const TEMPLATES: readonly ProjectTemplate[] = [
  {
    name: 'basic',
    summary: 'one interface: a static C program, a native image, deploy on Docker, exec probe',
    needs: 'a C compiler with static libc, a Docker engine',
    next: 'vnfpipe check && vnfpipe run',
  },
  {
    name: 'multi-net',
    summary: 'mgmt + data networks (bridge, internal bridge, macvlan), UDP forwarder, traffic probe',
    needs: 'a C compiler with static libc, a Docker engine, root (a veth pair as macvlan parent)',
    next: 'vnfpipe check && vnfpipe run',
  },
  {
    name: 'dockerfile',
    summary: 'a Dockerfile built through BuildKit (FROM scratch, nothing pulled), deployed and verified',
    needs: 'a C compiler with static libc, /bin/busybox (busybox-static), a Docker engine with BuildKit',
    next: 'vnfpipe check && vnfpipe run',
  },
  {
    name: 'kubernetes',
    summary: 'deploy.kubernetes with Multus (macvlan) and hugepages; render without a cluster',
    needs: 'for render: nothing; for run: a cluster with Multus, hugepages and an image it can pull',
    next: 'vnfpipe check && vnfpipe render',
  },
  {
    name: 'fleet',
    summary: 'fleet(): one image rolled out in waves over three sites, each on its own Docker engine',
    needs: 'for plan: nothing; for run: three engines (docker contexts lab, edge1, edge2, or LAB_ENGINE, …)',
    next: 'vnfpipe check && vnfpipe plan',
  },
];

export const DEFAULT_TEMPLATE = 'basic';

export function findTemplate(name: string): ProjectTemplate | undefined {
  return TEMPLATES.find((template) => template.name === name);
}
