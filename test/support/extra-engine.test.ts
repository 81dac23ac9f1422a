import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCKER } from './docker.js';
import { type ExtraEngine, startExtraEngine } from './extra-engine.js';

let engine: ExtraEngine;
beforeAll(async () => {
  engine = await startExtraEngine();
}, 90_000);
afterAll(() => engine?.stop(), 60_000);

describe('extra engine (a second dockerd)', () => {
  it('is its own engine: a network made there is not on the main engine', () => {
    const name = `vnfpipe-extra-${process.pid}`;
    engine.docker(['network', 'create', name]);
    expect(engine.docker(['network', 'ls', '--format', '{{.Name}}']).split('\n')).toContain(name);
    const main = execFileSync(DOCKER, ['network', 'ls', '--format', '{{.Name}}'], { encoding: 'utf8' });
    expect(main.split('\n')).not.toContain(name);
    expect(engine.docker(['info', '--format', '{{.DockerRootDir}}']).trim()).toBe(`${engine.dir}/data`);
  });
});
