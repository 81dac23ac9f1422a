import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { definePipeline } from '../../src/pipeline/define.js';
import { exec } from '../../src/pipeline/exec.js';
import { runPipeline } from '../../src/pipeline/scheduler.js';
import { secret } from '../../src/pipeline/secret.js';
import { jsonRenderer } from '../../src/ui/json.js';
import { plainRenderer } from '../../src/ui/plain.js';
import { createStyle } from '../../src/ui/style.js';

function allText(dir: string): string {
  let text = '';
  for (const entry of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, entry);
    if (statSync(path).isFile()) text += readFileSync(path, 'utf8');
  }
  return text;
}

/** Base64 runs in a text that decode (from any character, either alphabet) to something holding `value`. */
function decodableSecrets(text: string, value: string): string[] {
  const found: string[] = [];
  for (const [token] of text.matchAll(/[A-Za-z0-9+/_-]{4,}={0,2}/g)) {
    for (let start = 0; start < 4; start++) {
      for (const alphabet of ['base64', 'base64url'] as const) {
        if (Buffer.from(token.slice(start), alphabet).includes(value)) found.push(token);
      }
    }
  }
  return found;
}

describe('secrets encoded by a command', () => {
  it('never reach the journal or the rendered output as decodable base64, whatever bytes precede them', async () => {
    // '>', '?' and '~' make the encoding hold '+' and '/', so the URL-safe alphabet differs.
    const value = 'p>?~s3cr3t?>~hunter2';
    const commands = {
      echo: 'echo "$PASS" | base64',
      basic: `printf 'bob:%s' "$PASS" | base64`,
      one: `printf 'x%s\\n' "$PASS" | base64`,
      two: `printf 'ab%s' "$PASS" | base64`,
      bare: `printf '%s' "$PASS" | base64`,
      urlsafe: `printf 'u:%s' "$PASS" | base64 | tr '+/' '-_'`,
      stderr: `echo "user:$PASS" | base64 >&2`,
    };
    // The test is only worth something if the commands do print the secret encoded.
    expect(decodableSecrets(Buffer.from(`bob:${value}`).toString('base64'), value)).not.toEqual([]);

    const pipeline = definePipeline('encoded', (p) => {
      for (const [id, run] of Object.entries(commands))
        p.step(id, exec({ run, env: { PASS: secret('PASS') } }));
    });
    let rendered = '';
    const write = (text: string) => {
      rendered += text;
    };
    const plain = plainRenderer(write, createStyle(false), 'none');
    const json = jsonRenderer(write);
    const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-secret-'));
    const result = await runPipeline(pipeline, {
      cwd: dir,
      env: { PATH: process.env.PATH, PASS: value },
      onEvent: [plain.listener, json.listener],
    });
    expect(result.status).toBe('ok');
    const journal = allText(join(dir, '.vnfpipe'));
    for (const id of Object.keys(commands))
      expect(readFileSync(join(result.journal, 'steps', `${id}.log`), 'utf8')).toContain('***');
    expect(decodableSecrets(journal, value)).toEqual([]);
    expect(decodableSecrets(rendered, value)).toEqual([]);
    expect(journal + rendered).not.toContain(value);
  });
});
