/**
 * A tar stream read member by member, for the archive importers (`docker save` and OCI archives coming from
 * an engine or a BuildKit exporter). Each member is handed to `onMember`, which reads or skips it and hands
 * any work on it to `track`. The first failure, of the stream or of tracked work, stops the stream and is what
 * the call throws; members still being read then fail too (a member cut off mid-stream would never end), and
 * tracked work is awaited before the call returns either way.
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Parser, type ReadEntry } from 'tar';

export type TrackWork = (work: Promise<void>) => void;

export async function readTarMembers(
  body: Readable,
  onMember: (entry: ReadEntry, track: TrackWork) => void,
  signal?: AbortSignal,
): Promise<void> {
  const pending: Promise<void>[] = [];
  let failure: unknown;
  const track: TrackWork = (work) => {
    pending.push(
      work.catch((error: unknown) => {
        failure ??= error;
        body.destroy(error as Error);
      }),
    );
  };
  const reading = new Set<ReadEntry>();
  const parser = new Parser({
    // A damaged or cut-off archive is an error, not a warning.
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      reading.add(entry);
      entry.once('end', () => reading.delete(entry));
      try {
        onMember(entry, track);
      } catch (error) {
        // An unread member would stall the parser.
        entry.resume();
        track(Promise.reject(error));
      }
    },
  });
  try {
    await pipeline(body, parser as unknown as NodeJS.WritableStream, signal ? { signal } : {});
  } catch (error) {
    for (const entry of reading) entry.destroy(error as Error);
    throw failure ?? error;
  } finally {
    await Promise.all(pending);
  }
  if (failure) throw failure;
}

/** A member's bytes, whole (callers check its size first). */
export async function collectMember(entry: ReadEntry): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of entry) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
