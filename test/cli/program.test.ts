import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.js';
import { buildProgram, commandsFor } from '../../src/cli/main.js';
import { makeProject, REPO_ROOT } from '../support/project.js';

const argv = (...args: string[]) => ['node', 'vnfpipe', ...args];
const names = (program: Command) => program.commands.map((command) => command.name());

/** The help text of a command and of every subcommand under it, by path (`image build`). */
function helpTexts(command: Command, path = command.name()): Map<string, string> {
  const texts = new Map([[path, command.helpInformation()]]);
  for (const sub of command.commands) {
    for (const [subPath, text] of helpTexts(sub, `${path} ${sub.name()}`)) texts.set(subPath, text);
  }
  return texts;
}

describe('the program sets up only what a run needs', () => {
  it('sets up the named command alone, none for --version, all of them otherwise', () => {
    expect(names(buildProgram(commandsFor(argv('plan', '-f', 'p.ts'))))).toEqual(['plan']);
    expect(names(buildProgram(commandsFor(argv('image', 'build', '--help'))))).toEqual(['image']);
    expect(names(buildProgram(commandsFor(argv('--version'))))).toEqual([]);
    const all = COMMANDS.map(([name]) => name);
    for (const args of [[], ['--help'], ['help', 'plan'], ['pla'], ['--bogus', 'plan']]) {
      expect(names(buildProgram(commandsFor(argv(...args))))).toEqual(all);
    }
  });

  it('gives a command set up alone the same help, subcommands included, as the full program', () => {
    const full = buildProgram();
    for (const [name] of COMMANDS) {
      const alone = buildProgram([name]);
      expect(names(alone), name).toEqual([name]);
      const inFull = full.commands.find((command) => command.name() === name);
      expect(inFull, name).toBeDefined();
      expect(helpTexts(alone.commands[0]!)).toEqual(helpTexts(inFull!));
    }
  });
});

describe('vnfpipe usage', () => {
  it('--help lists every command with its description', async () => {
    const result = await makeProject().cli(['--help']);
    expect(result.code).toBe(0);
    for (const [name] of COMMANDS) expect(result.stdout).toMatch(new RegExp(`^  ${name}\\b.* {2,}\\S`, 'm'));
    expect(result.stdout).toMatch(/^ {2}verify-image \[options\] <ref> +check an image carries a signature/m);
  });

  it('suggests a command for a misspelt one, and exits 2', async () => {
    const result = await makeProject().cli(['pla']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "error: unknown command 'pla'\n(Did you mean plan?)\n(run vnfpipe --help for usage)\n",
    );
  });

  it("names an unknown option of a command, and shows the command's full help on --help", async () => {
    const project = makeProject();
    const bogus = await project.cli(['push', 'a', 'b', '--bogus']);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toContain("error: unknown option '--bogus'");
    const help = await project.cli(['push', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: vnfpipe push [options] <src> <dest>');
    for (const option of ['--tag <tag>', '--format <oci>', '--creds-stdin', '--quiet']) {
      expect(help.stdout).toContain(option);
    }
  });

  it('prints the package version for --version, also after a command', async () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    const project = makeProject();
    for (const args of [['--version'], ['plan', '-V']]) {
      const result = await project.cli(args);
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.stdout).toBe(`${version}\n`);
    }
  });
});
