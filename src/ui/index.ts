/** Picks the renderer for a run: NDJSON with --json, live progress on a terminal, plain logs otherwise. */
import type { EventListener } from '../pipeline/events.js';
import { jsonRenderer } from './json.js';
import { detectCi, plainRenderer } from './plain.js';
import { createStyle, wantsColor } from './style.js';
import { ttyRenderer } from './tty.js';

export interface Renderer {
  listener: EventListener;
  close(): void;
}

export interface RendererOptions {
  json?: boolean;
  stream?: NodeJS.WriteStream;
  env?: Readonly<Record<string, string | undefined>>;
}

export function createRenderer(options: RendererOptions = {}): Renderer {
  const stream = options.stream ?? process.stdout;
  const env = options.env ?? process.env;
  // A reader that went away (`vnfpipe run --json | head -1`) must not stop the run or its cleanups:
  // output stops, the run goes on.
  let closed = false;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') closed = true;
    else throw error;
  });
  const write = (text: string) => {
    if (!closed) stream.write(text);
  };
  if (options.json) return jsonRenderer(write);
  const isTty = Boolean(stream.isTTY);
  const style = createStyle(wantsColor(env, isTty));
  const inCi = env.CI === 'true' || env.CI === '1';
  if (isTty && !inCi)
    return ttyRenderer(
      write,
      style,
      () => stream.columns || 80,
      () => stream.rows || 24,
    );
  return plainRenderer(write, style, detectCi(env));
}
