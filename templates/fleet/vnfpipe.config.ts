/**
 * A fleet rollout: one VNF image deployed site by site — the lab first, then two edge sites together — each
 * site on its own Docker engine, each verified before the next wave starts. When a site fails verify, the
 * sites of its wave go back to their last verified revision and later waves never start.
 *
 *   npx vnfpipe check     type-check this file against vnfpipe's types
 *   npx vnfpipe plan      the waves as ordinary steps: deploy-<site>, verify-<site>, rollback-<site>
 *   npx vnfpipe run       needs the three engines (below) and a C compiler with static libc
 *   npx vnfpipe status hello-vnf    which revision each site runs, verified or not
 *
 * Each site names its engine as the docker CLI would: a docker context (`docker context create edge1 --docker
 * host=ssh://ops@edge1`), or LAB_ENGINE / EDGE1_ENGINE / EDGE2_ENGINE in DOCKER_HOST form
 * (`ssh://ops@10.0.0.5`, `tcp://10.0.0.5:2376` with DOCKER_TLS_VERIFY, `unix:///run/edge2.sock`).
 */
import { cnf, definePipeline, exec, fleet, image, probe, type Site } from 'vnfpipe';

/** A site on the engine its environment variable names, else on the docker context named like the site. */
function site(name: string, variable: string, overrides: Site['overrides'] = {}): Site {
  const engine = process.env[variable];
  return { ...(engine ? { engine } : { context: name }), overrides };
}

export default definePipeline('hello-fleet', (p) => {
  const compile = p.step(
    'compile',
    exec({
      run: 'mkdir -p out && cc -O2 -static -o out/hello src/hello.c',
      inputs: ['src/**'],
      outputs: ['out/hello'],
    }),
  );

  // Deployed straight from the OCI layout: the image streams to each engine over its connection.
  const img = p.step(
    'image',
    image.build({
      from: 'scratch',
      layers: [image.files(compile.out, { 'out/hello': '/usr/local/bin/hello' }, { mode: 0o755 })],
      entrypoint: ['/usr/local/bin/hello'],
      user: '65534:65534',
    }),
  );

  p.add(
    fleet({
      sites: {
        lab: site('lab', 'LAB_ENGINE'),
        edge1: site('edge1', 'EDGE1_ENGINE', { env: { SITE: 'edge1' } }),
        edge2: site('edge2', 'EDGE2_ENGINE', { env: { SITE: 'edge2' }, resources: { memory: '64Mi' } }),
      },
      waves: [['lab'], ['edge1', 'edge2']],
      workload: {
        name: 'hello-vnf',
        image: img.out,
        networks: [{ role: 'mgmt' }],
        resources: { memory: '32Mi' },
        security: { dropCapabilities: ['ALL'] },
      },
      probes: [
        probe.exec({ command: ['/usr/local/bin/hello', '--check'], outputContains: 'ok' }),
        cnf.logsToStdout(),
      ],
      onWaveFailure: 'rollback-wave',
    }),
  );
});
