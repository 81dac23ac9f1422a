/**
 * vnfpipe's own example pipeline (the "main job"): builds the vfw example VNF and checks it.
 * Run it with `npx vnfpipe run`; `npx vnfpipe plan` shows what the cache would reuse.
 */
import { definePipeline, exec } from 'vnfpipe';
import { smokeTest } from './pipelines/vfw/smoke.ts';

export default definePipeline('vfw', (p) => {
  const compile = p.step(
    'compile',
    exec({
      run: 'mkdir -p .vnfpipe/out && gcc -O2 -static -Wall -Wextra -Werror -o .vnfpipe/out/vfw pipelines/vfw/src/vfw.c',
      inputs: ['pipelines/vfw/src/**'],
      outputs: ['.vnfpipe/out/vfw'],
    }),
  );

  p.step(
    'smoke',
    async (ctx) => {
      const [binary] = ctx.output(compile.out.files);
      if (!binary) throw new Error('compile produced no binary');
      return smokeTest(ctx, binary.path, 'pipelines/vfw/rules.conf');
    },
    { stage: 'verify', needs: [compile], timeout: '30s' },
  );
});
