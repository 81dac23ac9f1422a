/**
 * Renders a CI model as YAML. Deterministic: keys keep the order the emitters build them in, no anchors,
 * no line folding, and a fixed header, so the same pipeline always gives the same bytes (what `--check`
 * compares).
 */

export interface RenderOptions {
  /** Comment lines put before the document (without `#`). */
  header?: string[];
}

export async function renderYaml(value: unknown, options: RenderOptions = {}): Promise<string> {
  // Loaded on use: the library entry point stays cheap to import for pipeline files.
  const { Document } = await import('yaml');
  const doc = new Document(stripUndefined(value), { aliasDuplicateObjects: false });
  if (options.header?.length) doc.commentBefore = options.header.map((line) => ` ${line}`).join('\n');
  return doc.toString({ lineWidth: 0, indent: 2, indentSeq: true, blockQuote: 'literal' });
}

function stripUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripUndefined);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, item]) => item !== undefined)
        .map(([key, item]) => [key, stripUndefined(item)]),
    );
  }
  return value;
}
