/** The importers' tar reader: every member seen, the first failure wins, nothing hangs on a cut-off stream. */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { collectMember, readTarMembers } from '../../src/oci/tar-members.js';

function archive(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-tarm-'));
  writeFileSync(join(dir, 'a.txt'), 'alpha');
  writeFileSync(join(dir, 'b.bin'), Buffer.alloc(100_000, 7));
  writeFileSync(join(dir, 'c.txt'), 'gamma');
  const file = join(dir, 'x.tar');
  execFileSync('tar', ['-cf', file, '-C', dir, 'a.txt', 'b.bin', 'c.txt']);
  return file;
}

describe('readTarMembers', () => {
  it('hands every member over and waits for the work tracked on them', async () => {
    const seen: Record<string, number> = {};
    await readTarMembers(createReadStream(archive()), (entry, track) => {
      track(
        collectMember(entry).then(async (data) => {
          await new Promise((resolve) => setTimeout(resolve, 20));
          seen[entry.path] = data.length;
        }),
      );
    });
    expect(seen).toEqual({ 'a.txt': 5, 'b.bin': 100_000, 'c.txt': 5 });
  });

  it('fails with the first tracked failure, and with a synchronous throw, without hanging', async () => {
    const file = archive();
    await expect(
      readTarMembers(createReadStream(file), (entry, track) => {
        if (entry.path === 'b.bin') track(Promise.reject(new Error('b is refused')));
        else entry.resume();
      }),
    ).rejects.toThrow('b is refused');
    await expect(
      readTarMembers(createReadStream(file), (entry) => {
        if (entry.path === 'a.txt') throw new Error('a cannot be named');
        entry.resume();
      }),
    ).rejects.toThrow('a cannot be named');
  });

  it('refuses a stream cut inside a member, even though that member already ended', async () => {
    const bytes = readFileSync(archive());
    // Inside b.bin's data: its header is at 1024 (after a.txt's header and one data block).
    const cut = Readable.from([bytes.subarray(0, 1536 + 50_000)]);
    const lengths: Record<string, number> = {};
    await expect(
      readTarMembers(cut, (entry, track) => {
        track(
          collectMember(entry).then((data) => {
            lengths[entry.path] = data.length;
          }),
        );
      }),
    ).rejects.toThrow(/Truncated input/);
    // The parser ends a cut member with what it had: only the call's failure says it is incomplete, so an
    // importer must not take a member as good before the whole call has succeeded.
    expect(lengths).toEqual({ 'a.txt': 5, 'b.bin': 50_000 });
  });
});
