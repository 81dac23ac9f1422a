// A starter vnfpipe pipeline. Run it with `npx vnfpipe run`; see the plan with `npx vnfpipe plan`.
import { definePipeline, exec } from 'vnfpipe';

export default definePipeline('my-vnf', (p) => {
  // An exec step with declared inputs is skipped while those files are unchanged.
  const compile = p.step(
    'compile',
    exec({
      run: 'mkdir -p out && cc -O2 -o out/hello src/hello.c',
      inputs: ['src/**'],
      outputs: ['out/hello'],
    }),
  );

  // A custom step: any async function; its return value is the step's typed output.
  p.step(
    'smoke-test',
    async (ctx) => {
      const binary = ctx.output(compile.out.files)[0];
      ctx.log(`built ${binary?.path} (${binary?.digest})`);
      return { binary: binary?.path };
    },
    { needs: [compile], stage: 'verify' },
  );
});
