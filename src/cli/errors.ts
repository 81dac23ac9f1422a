/** Turns what a command throws into a message on stderr and an exit code. */
import { EXIT, VnfpipeError } from '../errors.js';

export function handleErrors<A extends unknown[]>(command: (...args: A) => Promise<number>) {
  return async (...args: A): Promise<void> => {
    try {
      process.exitCode = await command(...args);
    } catch (error) {
      process.exitCode = reportError(error);
    }
  };
}

export function reportError(error: unknown): number {
  if (error instanceof VnfpipeError) {
    process.stderr.write(`vnfpipe: error: ${error.describe()}\n`);
    if (process.env.VNFPIPE_DEBUG && error.cause)
      process.stderr.write(`${String((error.cause as Error).stack ?? error.cause)}\n`);
    return error.exitCode;
  }
  const err = error as Error;
  process.stderr.write(`vnfpipe: unexpected error: ${err?.message ?? String(error)}\n`);
  if (process.env.VNFPIPE_DEBUG) process.stderr.write(`${err?.stack ?? ''}\n`);
  return EXIT.failed;
}
