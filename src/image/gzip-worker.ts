/**
 * The code a compression worker runs, as a string so the same file works from TypeScript sources (tests) and
 * compiled output without a separate worker file on disk.
 *
 * A task is one chunk of the uncompressed stream. The chunk is cut into 4 KiB blocks, each classed by cheap
 * estimates, without compressing it: byte entropy near 8 bits (already compressed or random data) → stored;
 * few repeated 4-byte words (noise over a small alphabet, where LZ matching finds next to nothing and is at
 * its slowest: per 4 KiB block about 2× the time of Huffman-only, for a bigger result) → Huffman-only; the
 * rest → deflate. Runs of blocks of one class become one piece. Every piece ends byte-aligned and non-final,
 * so pieces and chunks concatenate into one deflate stream. No piece refers to earlier data, so the output
 * depends on the chunk's bytes alone, never on which worker ran it or when.
 */
export const GZIP_WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const zlib = require('node:zlib');
const BLOCK = 4096;
const STORED_BITS = 7.6;
const STORED_MAX = 65535;
// Below this share of repeated 4-byte words in a block, LZ matching is not worth it.
const REPEAT_MIN = 0.02;
const STORED = 0, HUFFMAN = 1, LZ = 2;
const hist = new Uint32Array(256);
const cLogC = new Float64Array(BLOCK + 1);
for (let c = 1; c <= BLOCK; c++) cLogC[c] = c * Math.log2(c);
// Words seen in the current block, by hash slot (-1 = empty; a word of four 0xff bytes then counts once too
// often, which only nudges the estimate).
const seen = new Int32Array(1024);

function classify(buf, start, end) {
  if (end - start < 512) return LZ;
  // Every other byte is plenty to estimate the entropy and halves the cost.
  hist.fill(0);
  let samples = 0;
  for (let i = start; i < end; i += 2) { hist[buf[i]]++; samples++; }
  let sum = 0;
  for (let k = 0; k < 256; k++) sum += cLogC[hist[k]];
  if (Math.log2(samples) - sum / samples > STORED_BITS) return STORED;
  return repeatShare(buf, start, end) < REPEAT_MIN ? HUFFMAN : LZ;
}

/** Share of the block's 4-byte words (at every 4th offset) equal to an earlier word of the block. */
function repeatShare(buf, start, end) {
  seen.fill(-1);
  let words = 0;
  let repeats = 0;
  for (let i = start; i + 4 <= end; i += 4) {
    const key = buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24);
    const slot = Math.imul(key, 0x9e3779b1) >>> 22;
    if (seen[slot] === key) repeats++;
    else seen[slot] = key;
    words++;
  }
  return repeats / words;
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

function deflate(data, level, huffmanOnly) {
  const strategy = huffmanOnly ? zlib.constants.Z_HUFFMAN_ONLY : zlib.constants.Z_DEFAULT_STRATEGY;
  return zlib.deflateRawSync(data, { level, strategy, finishFlush: zlib.constants.Z_SYNC_FLUSH });
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
      else parts.push(deflate(buf.subarray(runStart, end), level, runClass === HUFFMAN));
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

// zstd (opt-in layers): one frame per chunk from the WASM build of zstd, loaded on the first zstd task.
let zstd;
async function zstdFrame(chunk, level, modulePath) {
  if (!zstd) {
    const loaded = require(modulePath);
    await loaded.init();
    zstd = loaded;
  }
  const frame = zstd.compress(chunk, level);
  return new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength);
}

parentPort.on('message', async (task) => {
  try {
    const chunk = Buffer.from(task.chunk.buffer, task.chunk.byteOffset, task.chunk.byteLength);
    const out = task.zstd ? await zstdFrame(chunk, task.level, task.zstd) : compressChunk(chunk, task.level);
    parentPort.postMessage({ id: task.id, out }, out.byteLength === out.buffer.byteLength ? [out.buffer] : []);
  } catch (error) {
    parentPort.postMessage({ id: task.id, error: String(error && error.stack || error) });
  }
});
`;
