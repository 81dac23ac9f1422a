/** Validators for the official CycloneDX 1.6, SPDX 2.3 and SARIF 2.1.0 JSON schemas (vendored in fixtures). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS: its default export arrives wrapped under NodeNext.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

import { FIXTURES } from './fixtures.ts';

function load(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(FIXTURES, 'schemas', name), 'utf8')) as Record<string, unknown>;
}

function ajv(): Ajv {
  const instance = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  addFormats(instance);
  return instance;
}

let cache: { cyclonedx: ValidateFunction; spdx: ValidateFunction; sarif: ValidateFunction } | undefined;

export function validators() {
  if (cache) return cache;
  const cdx = ajv();
  cdx.addSchema(load('spdx.schema.json'));
  cdx.addSchema(load('jsf-0.82.schema.json'));
  const spdx = ajv();
  // SARIF's schema is draft-04: `id` names it; Ajv 8 reads `$id` (no draft-04 keyword used here differs).
  const sarifSchema = load('sarif-2.1.0.schema.json');
  const { id, $schema: _ignored, ...rest } = sarifSchema;
  cache = {
    cyclonedx: cdx.compile(load('bom-1.6.schema.json')),
    spdx: spdx.compile(load('spdx-2.3.schema.json')),
    sarif: ajv().compile({ ...rest, $id: String(id) }),
  };
  return cache;
}

export function errorsOf(validate: ValidateFunction): string[] {
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}
