/**
 * The code a compression worker runs, as a string so the same file works from TypeScript sources (tests) and
 * compiled output without a separate worker file on disk.
 *
 * A task is one chunk of the uncompressed stream. The chunk is cut into 4 KiB blocks; blocks whose byte
 * entropy is near 8 bits (already compressed or random data) are emitted as stored deflate blocks, runs of the
 * others are deflated with a sync flush. (Deflating random data is deflate's slowest case and gains nothing.)
 * Every piece ends byte-aligned and non-final, so pieces and chunks concatenate into one deflate stream. No
 * piece refers to earlier data, so the output depends on the chunk's bytes alone, never on which worker ran
 * it or when. Finer classes (Huffman-only for noise) were measured and lost: each extra zlib call costs about
 * as much as it saves on a 4 KiB block.
 */
export const GZIP_WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const zlib = require('node:zlib');
const BLOCK = 4096;
const STORED_BITS = 7.6;
const STORED_MAX = 65535;
const STORED = 0, LZ = 1;
const hist = new Uint32Array(256);
const cLogC = new Float64Array(BLOCK + 1);
for (let c = 1; c <= BLOCK; c++) cLogC[c] = c * Math.log2(c);

function classify(buf, start, end) {
  const n = end - start;
  if (n < 512) return LZ;
  hist.fill(0);
  // Every other byte is plenty to estimate the entropy and halves the cost.
  let samples = 0;
  for (let i = start; i < end; i += 2) { hist[buf[i]]++; samples++; }
  let sum = 0;
  for (let k = 0; k < 256; k++) sum += cLogC[hist[k]];
  const bits = Math.log2(samples) - sum / samples;
  if (bits > STORED_BITS) return STORED;
  return LZ;
}

function stored(buf, start, end, parts) {
  for (let at = start; at < end; at += STORED_MAX) {
    const len = Math.min(STORED_MAX, end - at);
    const head = Buffer.allocUnsafe(5);
    head[0] = 0; // BFINAL=0, BTYPE=00; the stream is byte-aligned after a sync flush
    head.writeUInt16LE(len, 1);
    head.writeUInt16LE(~len & 0xffff, 3);
    parts.push(head, buf.subarray(at, at + len));
  }
}

function deflate(data, level) {
  return zlib.deflateRawSync(data, { level, finishFlush: zlib.constants.Z_SYNC_FLUSH });
}

function compressChunk(buf, level) {
  const parts = [];
  if (level === 0) {
    stored(buf, 0, buf.length, parts);
  } else {
    let runStart = 0;
    let runClass = -1;
    const flush = (end) => {
      if (end <= runStart) return;
      if (runClass === STORED) stored(buf, runStart, end, parts);
      else parts.push(deflate(buf.subarray(runStart, end), level));
      runStart = end;
    };
    for (let at = 0; at < buf.length; at += BLOCK) {
      const end = Math.min(at + BLOCK, buf.length);
      const cls = classify(buf, at, end);
      if (runClass !== -1 && cls !== runClass) flush(at);
      runClass = cls;
    }
    flush(buf.length);
  }
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(new ArrayBuffer(total));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

parentPort.on('message', (task) => {
  try {
    const out = compressChunk(Buffer.from(task.chunk.buffer, task.chunk.byteOffset, task.chunk.byteLength), task.level);
    parentPort.postMessage({ id: task.id, out }, [out.buffer]);
  } catch (error) {
    parentPort.postMessage({ id: task.id, error: String(error && error.stack || error) });
  }
});
`;
