/**
 * The `vnfpipe` command. Only commander loads up front; each command's module is imported when it runs,
 * and only the command being run is set up (help and unknown commands set up all of them, to list them).
 */
import { Command, CommanderError } from 'commander';
import { EXIT } from '../errors.js';
import { packageVersion } from '../package-root.js';
import { COMMANDS } from './commands.js';

/**
 * The commands to set up for `argv` (process.argv): the one it names, none for `--version` (commander
 * answers that option as soon as it reads it), else all of them, for help, suggestions and usage errors.
 */
export function commandsFor(argv: readonly string[]): string[] {
  const first = argv[2];
  if (first === '-V' || first === '--version') return [];
  const named = COMMANDS.find(([name]) => name === first);
  return named ? [named[0]] : COMMANDS.map(([name]) => name);
}

/** The program with the given top-level commands set up (default: all of them). */
export function buildProgram(commands: readonly string[] = COMMANDS.map(([name]) => name)): Command {
  const program = new Command('vnfpipe')
    .description('Build, scan, push, deploy and verify virtual network function images with typed pipelines.')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError('(run vnfpipe --help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  vnfpipe init --template multi-net    write a project: pipeline, sources, tsconfig.json, CI workflow
  vnfpipe check                        type-check the pipeline (run does not)
  vnfpipe doctor                       does this machine have what the pipeline needs?
  vnfpipe plan                         show the steps, their stages and what the cache would reuse
  vnfpipe run                          run vnfpipe.config.ts
  vnfpipe run -f pipelines/vfw.ts --stage build --stage scan
  vnfpipe run --json | jq .            machine-readable events (NDJSON)
  vnfpipe runs                         recent runs from .vnfpipe/runs
  vnfpipe history vfw                  revisions of a deployed workload
  vnfpipe status vfw                   the revision each fleet site runs, verified or not
  vnfpipe render -o k8s/               the kubernetes deploy steps' objects as YAML
  vnfpipe vnfd import vfw-vnfd.yaml --flavour small -o vfw.workload.json
  vnfpipe ci github --check            is the committed workflow what the pipeline generates?
  vnfpipe bundle create -o release.tar pack what the pipeline ships for an air-gapped site

Exit codes: 0 ok, 1 a step or check failed, 2 bad input or usage, 130 interrupted.`,
    );

  for (const [name, setUp] of COMMANDS) if (commands.includes(name)) setUp(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  // `vnfpipe plan | head`: a closed pipe ends the output, not with a crash.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  const program = buildProgram(commandsFor(argv));
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; every parse error is a usage error.
      return error.exitCode === 0 ||
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version'
        ? EXIT.ok
        : EXIT.usage;
    }
    throw error;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
}
