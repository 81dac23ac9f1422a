/**
 * A VNF image built from a Dockerfile through BuildKit, then deployed and verified like a native build.
 *
 *   npx vnfpipe check && npx vnfpipe run
 *
 * Needs a C compiler with static libc, a static busybox at /bin/busybox (Debian: busybox-static) for the
 * Dockerfile's RUN lines, and a Docker engine with BuildKit (Docker ≥ 20.10) or BUILDKIT_HOST.
 * VNF_NAME renames the workload (default `hello-df`).
 */
import { cnf, definePipeline, deploy, exec, image, probe, verify } from 'vnfpipe';

const name = process.env.VNF_NAME ?? 'hello-df';

export default definePipeline('hello-df', (p) => {
  // The build context (image/out) gets the program and a shell for RUN, since no base image is pulled.
  const compile = p.step(
    'compile',
    exec({
      run: 'mkdir -p image/out && cc -O2 -static -o image/out/hello src/hello.c && cp /bin/busybox image/out/busybox',
      inputs: ['src/**'],
      outputs: ['image/out/hello', 'image/out/busybox'],
    }),
  );

  const img = p.step(
    'image',
    image.dockerfile({ context: 'image', labels: { 'org.opencontainers.image.title': name } }),
    {
      needs: [compile],
    },
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
        probe.exec({ command: ['cat', '/etc/hello/hello.conf'], outputContains: 'greeting=hello' }),
        probe.exec({ command: ['/usr/local/bin/hello', '--check'], outputContains: 'ok' }),
        cnf.logsToStdout(),
      ],
    }),
  );
});
