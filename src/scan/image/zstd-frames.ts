/**
 * Watches the frame headers of a zstd stream as it passes, before the decoder sees them. A frame declares
 * the window its decoder must allocate (up to 2 GiB in fzstd, at once); frames that ask for more than
 * zstd's own default decoder limit (128 MiB, windowLog 27) are refused, so a few bytes cannot claim
 * gigabytes of memory. Block sizes are explicit in zstd, so frames are followed without decoding.
 */

const ZSTD_MAGIC = 0xfd2fb528;
export const ZSTD_MAX_WINDOW = 128 * 1024 * 1024;

type State =
  | { t: 'magic' }
  | { t: 'skippable-size' }
  | { t: 'descriptor' }
  | { t: 'header'; descriptor: number; length: number }
  | { t: 'block' }
  | { t: 'skip'; remaining: number; next: 'magic' | 'block' };

export class ZstdFrameWatcher {
  private state: State = { t: 'magic' };
  private held: number[] = [];
  private pendingChecksum = false;

  /** `refuse` is called with the reason when a frame is malformed or too demanding. */
  constructor(
    private readonly refuse: (reason: string) => never,
    private readonly maxWindow = ZSTD_MAX_WINDOW,
  ) {}

  /** Inspects one chunk of the compressed stream. */
  push(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      const s = this.state;
      if (s.t === 'skip') {
        const n = Math.min(s.remaining, chunk.length - i);
        s.remaining -= n;
        i += n;
        if (s.remaining === 0) this.state = { t: s.next };
        continue;
      }
      const want =
        s.t === 'magic' || s.t === 'skippable-size'
          ? 4
          : s.t === 'descriptor'
            ? 1
            : s.t === 'header'
              ? s.length
              : 3;
      while (this.held.length < want && i < chunk.length) this.held.push(chunk[i++]!);
      if (this.held.length < want) return;
      const bytes = this.held;
      this.held = [];
      this.step(bytes);
    }
  }

  private step(b: number[]): void {
    const s = this.state;
    const le = (from: number, n: number) => {
      let v = 0;
      for (let k = n - 1; k >= 0; k--) v = v * 256 + b[from + k]!;
      return v;
    };
    if (s.t === 'magic') {
      const magic = le(0, 4);
      if (magic === ZSTD_MAGIC) this.state = { t: 'descriptor' };
      else if (magic >>> 4 === 0x184d2a5) this.state = { t: 'skippable-size' };
      else this.refuse('not a zstd frame');
    } else if (s.t === 'skippable-size') {
      const size = le(0, 4);
      this.state = size ? { t: 'skip', remaining: size, next: 'magic' } : { t: 'magic' };
    } else if (s.t === 'descriptor') {
      const d = b[0]!;
      if (d & 0x08) this.refuse('reserved bit set in a zstd frame header');
      const single = (d >> 5) & 1;
      const fcsSize = [single ? 1 : 0, 2, 4, 8][d >> 6]!;
      const length = (single ? 0 : 1) + [0, 1, 2, 4][d & 3]! + fcsSize;
      this.pendingChecksum = ((d >> 2) & 1) === 1;
      if (length === 0) this.refuse('zstd frame header without a window');
      this.state = { t: 'header', descriptor: d, length };
    } else if (s.t === 'header') {
      const d = s.descriptor;
      const single = (d >> 5) & 1;
      let window: number;
      if (single) {
        const fcsSize = [1, 2, 4, 8][d >> 6]!;
        const at = b.length - fcsSize;
        window = le(at, fcsSize) + (fcsSize === 2 ? 256 : 0);
      } else {
        const wd = b[0]!;
        const base = 2 ** (10 + (wd >> 3));
        window = base + (base / 8) * (wd & 7);
      }
      if (window > this.maxWindow) {
        this.refuse(`a zstd frame asks for a ${window}-byte window, more than the ${this.maxWindow} allowed`);
      }
      this.state = { t: 'block' };
    } else if (s.t === 'block') {
      const header = b[0]! | (b[1]! << 8) | (b[2]! << 16);
      const last = header & 1;
      const type = (header >> 1) & 3;
      const size = header >>> 3;
      if (type === 3) this.refuse('reserved zstd block type');
      const content = type === 1 ? 1 : size;
      const next = last ? 'magic' : 'block';
      const checksum = last && this.pendingChecksum ? 4 : 0;
      const remaining = content + checksum;
      this.state = remaining ? { t: 'skip', remaining, next } : { t: next };
    }
  }
}
