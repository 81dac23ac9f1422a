/**
 * A first vnfpipe pipeline: compile a small C network function, build its image natively (no Dockerfile,
 * no base image), run it on the Docker engine with one interface, and verify it.
 *
 *   npx vnfpipe check     type-check this file against vnfpipe's types
 *   npx vnfpipe plan      the steps, their stages, what the cache would reuse
 *   npx vnfpipe run       build → deploy → verify (a C compiler with static libc and a Docker engine)
 *
 * VNF_NAME renames the workload (default `hello-vnf`).
 */
import { cnf, definePipeline, deploy, exec, image, probe, verify } from 'vnfpipe';

const name = process.env.VNF_NAME ?? 'hello-vnf';

export default definePipeline('hello-vnf', (p) => {
  // With `inputs`, the step is skipped while src/ is unchanged.
  const compile = p.step(
    'compile',
    exec({
      run: 'mkdir -p out && cc -O2 -static -o out/hello src/hello.c',
      inputs: ['src/**'],
      outputs: ['out/hello'],
    }),
  );

  const img = p.step(
    'image',
    image.build({
      from: 'scratch',
      layers: [image.files(compile.out, { 'out/hello': '/usr/local/bin/hello' }, { mode: 0o755 })],
      entrypoint: ['/usr/local/bin/hello'],
      user: '65534:65534',
    }),
  );

  const release = p.step(
    'deploy',
    deploy.docker({
      workload: {
        name,
        image: img.out,
        networks: [{ role: 'mgmt' }],
        resources: { memory: '32Mi' },
        security: { dropCapabilities: ['ALL'] },
      },
    }),
  );

  p.step(
    'verify',
    verify({
      release: release.out,
      probes: [
        probe.exec({ command: ['/usr/local/bin/hello', '--check'], outputContains: 'ok' }),
        cnf.logsToStdout(),
        cnf.sigterm(),
      ],
    }),
  );
});
