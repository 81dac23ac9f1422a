import { EXIT } from '../errors.js';
import { DEFAULT_PIPELINE_FILE } from '../pipeline/loader.js';
import { typecheckPipeline } from '../pipeline/typecheck.js';

/** Prints type errors as `file:line:col - error TS…: message`; exit 2 when there are any. */
export async function checkCommand(opts: { file?: string; quiet?: boolean }): Promise<number> {
  const file = opts.file ?? DEFAULT_PIPELINE_FILE;
  const result = await typecheckPipeline(file);
  for (const d of result.diagnostics) {
    process.stderr.write(`${d.file}:${d.line}:${d.column} - error ${d.code}: ${d.message}\n`);
  }
  for (const line of result.general) process.stderr.write(`${line}\n`);
  const compiler = `TypeScript ${result.compiler.version} (${result.compiler.from === 'project' ? "the project's" : "vnfpipe's"})`;
  if (!result.ok) {
    const count =
      result.diagnostics.length + result.general.filter((line) => /\berror\b/.test(line)).length || 1;
    process.stderr.write(`${file}: ${count} type error${count === 1 ? '' : 's'} (${compiler})\n`);
    return EXIT.usage;
  }
  if (!opts.quiet) process.stdout.write(`${file}: types check (${compiler})\n`);
  return EXIT.ok;
}
