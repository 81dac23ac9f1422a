import { EXIT } from '../errors.js';
import { killRunningCommands } from '../pipeline/exec.js';
import { loadPipeline } from '../pipeline/loader.js';
import { runPipeline } from '../pipeline/scheduler.js';
import { createRenderer } from '../ui/index.js';

export interface RunCommandOptions {
  file: string;
  stage?: string[];
  concurrency?: number;
  cache: boolean;
  json?: boolean;
}

export async function runCommand(opts: RunCommandOptions): Promise<number> {
  const { pipeline, file, cwd } = await loadPipeline(opts.file);
  const renderer = createRenderer({ json: opts.json });
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) {
      renderer.close();
      process.stderr.write('vnfpipe: interrupted again, exiting without waiting for cleanup\n');
      // Commands run in their own process groups, so the terminal's Ctrl-C does not reach them: end them.
      killRunningCommands();
      process.exit(EXIT.interrupted);
    }
    process.stderr.write(
      '\nvnfpipe: interrupting: cancelling running steps and cleaning up (Ctrl-C again to force)\n',
    );
    controller.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    const result = await runPipeline(pipeline, {
      cwd,
      file,
      ...(opts.stage?.length ? { stages: opts.stage } : {}),
      ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
      noCache: !opts.cache,
      signal: controller.signal,
      onEvent: renderer.listener,
    });
    return result.exitCode;
  } finally {
    // The handlers stay: a cancelled command may outlive the run by its grace period, and a second
    // Ctrl-C then must still end it instead of leaving it orphaned in its own process group.
    renderer.close();
  }
}
