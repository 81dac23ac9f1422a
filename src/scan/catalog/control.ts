/**
 * Parser for deb822-style control data (dpkg status, apt lists) and RFC 822 headers (Python METADATA):
 * paragraphs of `Field: value` lines, continuation lines starting with a space or tab.
 */
import { VnfpipeError } from '../../errors.js';

export type Paragraph = Map<string, string>;

/** Splits text into paragraphs; field names are lower-cased. `limit` bounds the paragraph count. */
export function parseParagraphs(text: string, where: string, limit = 1_000_000): Paragraph[] {
  const out: Paragraph[] = [];
  let current: Paragraph | undefined;
  let last: string | undefined;
  let lineNo = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') {
      current = undefined;
      last = undefined;
      continue;
    }
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (!current || last === undefined) {
        throw new VnfpipeError('SCAN_DATA', `continuation line without a field at line ${lineNo}`, {
          where,
        });
      }
      current.set(last, `${current.get(last)}\n${line.slice(1)}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      throw new VnfpipeError('SCAN_DATA', `malformed line ${lineNo}: ${JSON.stringify(line.slice(0, 80))}`, {
        where,
      });
    }
    if (!current) {
      current = new Map();
      out.push(current);
      if (out.length > limit) throw new VnfpipeError('SCAN_DATA', `more than ${limit} entries`, { where });
    }
    last = line.slice(0, colon).toLowerCase();
    current.set(last, line.slice(colon + 1).trim());
  }
  return out;
}

/** The header block of an RFC 822 message (Python METADATA): fields until the first blank line. */
export function parseHeaders(text: string, where: string): Paragraph {
  const end = text.search(/\r?\n\r?\n/);
  return parseParagraphs(end === -1 ? text : text.slice(0, end), where)[0] ?? new Map();
}
