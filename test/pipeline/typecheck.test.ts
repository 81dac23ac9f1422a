/**
 * The type-check gate: compiler output parsed into file:line:col, the project's own compiler preferred, and
 * a project's tsconfig.json honoured. Runs the real TypeScript compiler.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDiagnostics, typecheckPipeline } from '../../src/pipeline/typecheck.js';
import { makeProject, REPO_ROOT } from '../support/project.js';

const pipeline = "import { definePipeline } from 'vnfpipe';\nexport default definePipeline('t', () => {});\n";

describe('typecheckPipeline', { timeout: 120_000 }, () => {
  it('parses placed errors with their continuation lines, and errors without a place', () => {
    const parsed = parseDiagnostics(
      [
        "a.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.",
        "sub/b.ts(10,1): error TS2345: Argument of type '{ x: 1; }' is not assignable.",
        "  Object literal may only specify known properties, and 'x' does not exist.",
        "error TS5083: Cannot read file 'tsconfig.json'.",
      ].join('\n'),
    );
    expect(parsed.diagnostics).toEqual([
      {
        file: 'a.ts',
        line: 3,
        column: 7,
        code: 'TS2322',
        message: "Type 'string' is not assignable to type 'number'.",
      },
      {
        file: 'sub/b.ts',
        line: 10,
        column: 1,
        code: 'TS2345',
        message:
          "Argument of type '{ x: 1; }' is not assignable.\n  Object literal may only specify known properties, and 'x' does not exist.",
      },
    ]);
    expect(parsed.general).toEqual(["error TS5083: Cannot read file 'tsconfig.json'."]);
  });

  it('finds a wrong option type in a pipeline without a tsconfig.json (strict defaults)', async () => {
    const project = makeProject({
      'vnfpipe.config.ts':
        "import { definePipeline, exec } from 'vnfpipe';\nexport default definePipeline('t', (p) => {\n  p.step('x', exec({ run: 42 }));\n});\n",
    });
    const result = await typecheckPipeline('vnfpipe.config.ts', project.dir);
    expect(result.ok).toBe(false);
    expect(result.tsconfig).toBeUndefined();
    expect(result.diagnostics).toEqual([
      expect.objectContaining({ file: 'vnfpipe.config.ts', line: 3, column: 22, code: 'TS2322' }),
    ]);
  });

  it("uses the project's own typescript and tsconfig.json when it has them", async () => {
    const project = makeProject({ 'vnfpipe.config.ts': `${pipeline}export const loose = (x) => x;\n` });
    mkdirSync(join(project.dir, 'node_modules', 'typescript'));
    // A project's compiler: the same package, installed in the project (a link stands in for an install).
    symlinkSync(
      join(REPO_ROOT, 'node_modules', 'typescript', 'bin'),
      join(project.dir, 'node_modules', 'typescript', 'bin'),
    );
    symlinkSync(
      join(REPO_ROOT, 'node_modules', 'typescript', 'lib'),
      join(project.dir, 'node_modules', 'typescript', 'lib'),
    );
    writeFileSync(
      join(project.dir, 'node_modules', 'typescript', 'package.json'),
      JSON.stringify({
        name: 'typescript',
        version: '7.0.2-project',
        type: 'module',
        bin: { tsc: './bin/tsc' },
      }),
    );
    const strict = await typecheckPipeline('vnfpipe.config.ts', project.dir);
    expect(strict.compiler.from).toBe('project');
    expect(strict.diagnostics.map((d) => d.code)).toEqual(['TS7006']);
    // The project's tsconfig.json decides: without noImplicitAny, the untyped parameter is fine.
    project.write(
      'tsconfig.json',
      JSON.stringify({
        compilerOptions: {
          module: 'preserve',
          moduleResolution: 'bundler',
          strict: false,
          skipLibCheck: true,
        },
      }),
    );
    const loose = await typecheckPipeline('vnfpipe.config.ts', project.dir);
    expect(loose.tsconfig).toBe(join(project.dir, 'tsconfig.json'));
    expect(loose.ok, JSON.stringify(loose)).toBe(true);
  });
});
