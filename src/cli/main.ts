/**
 * The `vnfpipe` command. Only commander loads up front; each command's module is imported when it runs,
 * so `--help` and `plan` start fast.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { EXIT } from '../errors.js';
import { handleErrors } from './errors.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const intArg = (name: string) => (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new InvalidArgumentError(`${name} must be a whole number ≥ 1`);
  }
  return Number(value);
};

const collect = (value: string, previous: string[] = []) => [
  ...previous,
  ...value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];

export function buildProgram(): Command {
  const program = new Command('vnfpipe')
    .description('Build, scan, push, deploy and verify virtual network function images with typed pipelines.')
    .version(pkg.version, '-V, --version')
    .showHelpAfterError('(run vnfpipe --help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  vnfpipe init                         write a starter vnfpipe.config.ts
  vnfpipe plan                         show the steps, their stages and what the cache would reuse
  vnfpipe run                          run vnfpipe.config.ts
  vnfpipe run -f pipelines/vfw.ts --stage build --stage scan
  vnfpipe run --json | jq .            machine-readable events (NDJSON)
  vnfpipe runs                         recent runs from .vnfpipe/runs
  vnfpipe history vfw                  revisions of a deployed workload
  vnfpipe ci github --check            is the committed workflow what the pipeline generates?

Exit codes: 0 ok, 1 a step or check failed, 2 bad input or usage, 130 interrupted.`,
    );

  program
    .command('run')
    .description('run a pipeline (all stages, or the ones given with --stage)')
    .option('-f, --file <file>', 'pipeline file', 'vnfpipe.config.ts')
    .option('-s, --stage <stage>', 'run only this stage (repeatable, or comma-separated)', collect)
    .option(
      '-c, --concurrency <n>',
      'steps running at once (default: number of cores)',
      intArg('--concurrency'),
    )
    .option('--no-cache', 'run every step even when its inputs are unchanged')
    .option('--json', 'print events as NDJSON instead of progress')
    .addHelpText(
      'after',
      `
With --stage, outputs of steps in other stages come from the newest earlier run that recorded them
(.vnfpipe/runs); CI jobs pass that folder on. Ctrl-C cancels running steps, runs cleanups, exits 130.`,
    )
    .action(
      handleErrors(async (opts) => {
        const { runCommand } = await import('./run.js');
        return runCommand(opts);
      }),
    );

  program
    .command('plan')
    .description('validate a pipeline and show its steps, stages and cache status, without running it')
    .option('-f, --file <file>', 'pipeline file', 'vnfpipe.config.ts')
    .option('--no-cache', 'plan as if the cache were empty')
    .option('--json', 'print the plan as JSON')
    .action(
      handleErrors(async (opts) => {
        const { planCommand } = await import('./plan.js');
        return planCommand(opts);
      }),
    );

  program
    .command('runs')
    .description('list recent runs, or show one run in detail')
    .argument('[run-id]', 'a run to show (an id or a unique prefix; "last" for the newest)')
    .option('-d, --dir <dir>', 'project directory holding .vnfpipe', '.')
    .option('-n, --limit <n>', 'how many runs to list', intArg('--limit'), 20)
    .option('--json', 'print as JSON')
    .action(
      handleErrors(async (runId, opts) => {
        const { runsCommand } = await import('./runs.js');
        return runsCommand(runId, opts);
      }),
    );

  program
    .command('history')
    .description('list the revisions of a deployed workload')
    .argument('<name>', 'the workload name')
    .option('-d, --dir <dir>', 'project directory holding .vnfpipe', '.')
    .option('-t, --target <target>', 'docker or swarm', 'docker')
    .option('--json', 'print as JSON')
    .action(
      handleErrors(async (name, opts) => {
        const { historyCommand } = await import('./deploy.js');
        return historyCommand(name, opts);
      }),
    );

  program
    .command('rollback')
    .description('return a workload (docker target) to its last verified revision, or to --to N')
    .argument('<name>', 'the workload name')
    .option('-d, --dir <dir>', 'project directory holding .vnfpipe', '.')
    .option('--to <revision>', 'the revision to return to', intArg('--to'))
    .action(
      handleErrors(async (name, opts) => {
        const { rollbackCommand } = await import('./deploy.js');
        return rollbackCommand(name, opts);
      }),
    );

  program
    .command('init')
    .description('write a starter pipeline file')
    .option('-f, --file <file>', 'where to write it', 'vnfpipe.config.ts')
    .addOption(new Option('--force', 'overwrite an existing file'))
    .action(
      handleErrors(async (opts) => {
        const { initCommand } = await import('./init.js');
        return initCommand(opts);
      }),
    );

  const ci = program
    .command('ci')
    .description('generate GitHub Actions or GitLab CI from a pipeline (one job per stage)');
  for (const target of ['github', 'gitlab'] as const) {
    const command = ci
      .command(target)
      .description(
        target === 'github'
          ? 'write .github/workflows/vnfpipe.yml (or check it, or propose it as a pull request)'
          : 'write .gitlab-ci.yml (or check it)',
      )
      .option('-f, --file <file>', 'pipeline file', 'vnfpipe.config.ts')
      .option(
        '-o, --output <file>',
        `file to write (default ${target === 'github' ? '.github/workflows/vnfpipe.yml' : '.gitlab-ci.yml'})`,
      )
      .option(
        '--check',
        'exit 1 and print a unified diff when the file differs from what the pipeline generates',
      )
      .option('--platform <platforms>', 'run every stage per platform, e.g. linux/amd64,linux/arm64', collect)
      .option('--manual <stages>', 'stages that run only when started by hand (e.g. deploy)', collect)
      .option('--environment <name>', 'environment of deploy and rollback jobs (default production)')
      .option('--install <command>', 'dependency install command of each job (default npm ci)')
      .option('--no-install', 'install nothing (runners with a ready tree)')
      .option('--vnfpipe <command>', 'how jobs start vnfpipe (default npx vnfpipe)');
    if (target === 'github') {
      command
        .option(
          '--open-pr',
          'commit the file on a branch and open or update a pull request (token from $GITHUB_TOKEN)',
        )
        .option('--repo <owner/name>', 'repository for --open-pr (default $GITHUB_REPOSITORY)')
        .option('--branch <name>', 'branch for --open-pr (default vnfpipe/ci)')
        .option('--base <branch>', 'base of the pull request (default: the repository default branch)')
        .option('--api-url <url>', 'GitHub Enterprise REST API root, e.g. https://ghe.example.com/api/v3')
        .option('--token-env <name>', 'environment variable holding the token (default GITHUB_TOKEN)');
    }
    command.action(
      handleErrors(async (opts) => {
        const { ciCommand } = await import('./ci.js');
        return ciCommand(target, opts);
      }),
    );
  }

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
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
