/**
 * A minimal read-only SQLite reader (file format 3): enough to list the rows of one table, following table
 * b-tree pages and overflow chains. Used for rpm's `rpmdb.sqlite`, so no native module is needed. Every
 * page number and length is checked against the file, and each page is visited at most once.
 */
import { VnfpipeError } from '../../errors.js';

export type SqlValue = null | number | bigint | string | Buffer;

const HEADER = Buffer.from('SQLite format 3\0', 'latin1');

class Reader {
  readonly pageSize: number;
  readonly usable: number;
  readonly pageCount: number;

  constructor(
    readonly data: Buffer,
    readonly where: string,
  ) {
    if (data.length < 100 || !data.subarray(0, 16).equals(HEADER)) throw this.bad('not an SQLite 3 database');
    const raw = data.readUInt16BE(16);
    this.pageSize = raw === 1 ? 65536 : raw;
    if (this.pageSize < 512 || (this.pageSize & (this.pageSize - 1)) !== 0)
      throw this.bad(`invalid page size ${raw}`);
    this.usable = this.pageSize - data[20]!;
    if (data.readUInt32BE(56) > 1) throw this.bad('only UTF-8 databases are supported');
    this.pageCount = Math.floor(data.length / this.pageSize);
  }

  bad(message: string): VnfpipeError {
    return new VnfpipeError('SCAN_DATA', `invalid SQLite database: ${message}`, {
      where: this.where,
      hint: 'the rpm database in the image is corrupt; rebuild the image (rpm --rebuilddb) or check the layer',
    });
  }

  page(n: number): Buffer {
    if (!Number.isInteger(n) || n < 1 || n > this.pageCount) throw this.bad(`page ${n} is outside the file`);
    return this.data.subarray((n - 1) * this.pageSize, n * this.pageSize);
  }

  varint(buf: Buffer, pos: number): [bigint, number] {
    let value = 0n;
    for (let i = 0; i < 9; i++) {
      if (pos + i >= buf.length) throw this.bad('truncated varint');
      const b = buf[pos + i]!;
      if (i === 8) return [(value << 8n) | BigInt(b), pos + 9];
      value = (value << 7n) | BigInt(b & 0x7f);
      if ((b & 0x80) === 0) return [value, pos + i + 1];
    }
    throw this.bad('unreachable');
  }

  smallVarint(buf: Buffer, pos: number): [number, number] {
    const [v, next] = this.varint(buf, pos);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.bad('varint out of range');
    return [Number(v), next];
  }

  /** A table leaf cell's payload, following its overflow chain. */
  payload(page: Buffer, offset: number, seen: Set<number>): Buffer {
    const [length, afterLength] = this.smallVarint(page, offset);
    const [, start] = this.varint(page, afterLength); // rowid
    const u = this.usable;
    const x = u - 35;
    if (length <= x) {
      if (start + length > page.length) throw this.bad('cell runs past its page');
      return page.subarray(start, start + length);
    }
    const m = Math.floor(((u - 12) * 32) / 255) - 23;
    const k = m + ((length - m) % (u - 4));
    const local = k <= x ? k : m;
    if (start + local + 4 > page.length) throw this.bad('cell runs past its page');
    const parts = [page.subarray(start, start + local)];
    let remaining = length - local;
    let next = page.readUInt32BE(start + local);
    while (remaining > 0) {
      if (next === 0 || seen.has(next)) throw this.bad(`broken overflow chain at page ${next}`);
      seen.add(next);
      const overflow = this.page(next);
      const take = Math.min(remaining, u - 4);
      parts.push(overflow.subarray(4, 4 + take));
      remaining -= take;
      next = overflow.readUInt32BE(0);
    }
    return Buffer.concat(parts);
  }

  record(payload: Buffer): SqlValue[] {
    const [headerSize, first] = this.smallVarint(payload, 0);
    if (headerSize > payload.length) throw this.bad('record header runs past its payload');
    const types: number[] = [];
    let pos = first;
    while (pos < headerSize) {
      const [t, next] = this.smallVarint(payload, pos);
      types.push(t);
      pos = next;
    }
    const values: SqlValue[] = [];
    let body = headerSize;
    const need = (n: number) => {
      if (body + n > payload.length) throw this.bad('record body runs past its payload');
    };
    for (const t of types) {
      if (t === 0) values.push(null);
      else if (t >= 1 && t <= 6) {
        const size = [0, 1, 2, 3, 4, 6, 8][t]!;
        need(size);
        values.push(size === 8 ? payload.readBigInt64BE(body) : payload.readIntBE(body, size));
        body += size;
      } else if (t === 7) {
        need(8);
        values.push(payload.readDoubleBE(body));
        body += 8;
      } else if (t === 8 || t === 9) values.push(t - 8);
      else if (t >= 12) {
        const size = Math.floor((t - 12) / 2);
        need(size);
        const bytes = payload.subarray(body, body + size);
        values.push(t % 2 === 0 ? bytes : bytes.toString('utf8'));
        body += size;
      } else throw this.bad(`reserved serial type ${t}`);
    }
    return values;
  }

  /** Rows of the table b-tree rooted at `root`, in rowid order. */
  *rows(root: number): Generator<SqlValue[]> {
    const seen = new Set<number>();
    const stack = [root];
    while (stack.length) {
      const n = stack.pop()!;
      if (seen.has(n)) throw this.bad(`page ${n} is referenced twice`);
      seen.add(n);
      const page = this.page(n);
      const base = n === 1 ? 100 : 0;
      const type = page[base]!;
      const cells = page.readUInt16BE(base + 3);
      if (type === 0x05) {
        const children: number[] = [];
        for (let i = 0; i < cells; i++)
          children.push(page.readUInt32BE(page.readUInt16BE(base + 12 + 2 * i)));
        children.push(page.readUInt32BE(base + 8));
        // Depth first, leftmost child first.
        for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
      } else if (type === 0x0d) {
        for (let i = 0; i < cells; i++) {
          const offset = page.readUInt16BE(base + 8 + 2 * i);
          if (offset >= page.length) throw this.bad('cell pointer outside its page');
          yield this.record(this.payload(page, offset, seen));
        }
      } else throw this.bad(`page ${n} is not a table b-tree page (type ${type})`);
    }
  }
}

/** Every row of a table, as column values (an INTEGER PRIMARY KEY column reads as null: it is the rowid). */
export function* sqliteTableRows(data: Buffer, table: string, where: string): Generator<SqlValue[]> {
  const reader = new Reader(data, where);
  for (const row of reader.rows(1)) {
    const [type, name, , rootpage] = row;
    if (type === 'table' && name === table) {
      yield* reader.rows(Number(rootpage));
      return;
    }
  }
  throw reader.bad(`no table ${table}`);
}
