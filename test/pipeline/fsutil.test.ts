/** Temp files a killed writer left are removed on the next write; a live writer's are not. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeOrphanedTemps, writeFileAtomic } from '../../src/pipeline/fsutil.js';

/** A process id that is certainly gone: a child that already exited. */
const deadPid = () => spawnSync('true').pid!;

// A writer that is still alive while the test runs.
const live = spawn('sleep', ['60'], { stdio: 'ignore' });
afterAll(() => {
  live.kill();
});

describe('orphaned temp files', () => {
  it("writeFileAtomic removes a killed writer's temp beside its target, once per folder", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-fsutil-'));
    const dead = deadPid();
    const orphan = `entry.json.${dead}.deadbeef.tmp`;
    const liveTemp = `entry.json.${live.pid}.cafe0123.tmp`;
    const ours = `other.json.${process.pid}.0badf00d.tmp`;
    const unrelated = ['notes.tmp', `entry.json.${dead}.tmp`, `entry.json.${dead}.NOTHEX12.tmp`];
    for (const name of [orphan, liveTemp, ours, ...unrelated]) writeFileSync(join(dir, name), 'partial');

    await writeFileAtomic(join(dir, 'entry.json'), '{"ok":true}\n');
    expect(readFileSync(join(dir, 'entry.json'), 'utf8')).toBe('{"ok":true}\n');
    expect(existsSync(join(dir, orphan))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual([ours, liveTemp, 'entry.json', ...unrelated].sort());

    // Later writes into the same folder do not list it again.
    const later = `entry.json.${deadPid()}.12345678.tmp`;
    writeFileSync(join(dir, later), 'partial');
    await writeFileAtomic(join(dir, 'entry.json'), '{"ok":2}\n');
    expect(existsSync(join(dir, later))).toBe(true);
  });

  it('removeOrphanedTemps takes only what the pattern names with a gone writer, and says what it removed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-fsutil-'));
    const dead = deadPid();
    writeFileSync(join(dir, `.out.tar.vnfpipe-${dead}-abcdef12`), 'x');
    writeFileSync(join(dir, `.out.tar.vnfpipe-${live.pid}-abcdef12`), 'x');
    writeFileSync(join(dir, 'out.tar'), 'complete');
    const writerOf = (name: string) => {
      const match = /^\.out\.tar\.vnfpipe-(\d+)-[0-9a-f]{8}$/.exec(name);
      return match ? Number(match[1]) : undefined;
    };
    expect(await removeOrphanedTemps(dir, writerOf)).toEqual([`.out.tar.vnfpipe-${dead}-abcdef12`]);
    expect(readdirSync(dir).sort()).toEqual([`.out.tar.vnfpipe-${live.pid}-abcdef12`, 'out.tar'].sort());
    expect(await removeOrphanedTemps(join(dir, 'missing'), writerOf)).toEqual([]);
  });
});
