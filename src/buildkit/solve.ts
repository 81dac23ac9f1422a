/**
 * One Solve with its Status stream read alongside: vertexes (state and timing), progress and logs go to the
 * caller as they arrive; a failure becomes a typed error naming the failing step with its last output lines.
 */
import { randomUUID } from 'node:crypto';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { type Timestamp, timestampMs } from '@bufbuild/protobuf/wkt';
import { ConnectError } from '@connectrpc/connect';
import { VnfpipeError } from '../errors.js';
import type { BuildkitClient } from './client.js';
import { SolveRequestSchema } from './gen/github.com/moby/buildkit/api/services/control/control_pb.js';

export type VertexState = 'started' | 'cached' | 'completed' | 'failed';

/** A BuildKit vertex changing state: what live progress and `--json` show. */
export interface VertexEvent {
  digest: string;
  name: string;
  state: VertexState;
  /** Epoch milliseconds, as BuildKit reports them. */
  started?: number;
  completed?: number;
  durationMs?: number;
  error?: string;
}

export interface SolveListener {
  onVertex?(event: VertexEvent): void;
  onLog?(line: { vertex: string; name: string; stream: 'stdout' | 'stderr'; line: string }): void;
  onProgress?(progress: { vertex: string; id: string; current: number; total?: number }): void;
}

export type SolveInit = Omit<
  Exclude<MessageInitShape<typeof SolveRequestSchema>, { $typeName: string }>,
  'Ref' | '$typeName'
>;

interface VertexTrack {
  name: string;
  state?: VertexState;
  lines: string[];
  partial: Map<string, string>;
}

const KEEP_LINES = 20;

const ms = (t: Timestamp | undefined) => (t ? timestampMs(t) : undefined);

/** Runs the solve; `mask` values (secrets) are replaced in every log line and error text. */
export async function solve(
  client: BuildkitClient,
  request: SolveInit,
  listener: SolveListener = {},
  mask: readonly string[] = [],
  signal?: AbortSignal,
): Promise<Record<string, string>> {
  const ref = randomUUID();
  const vertexes = new Map<string, VertexTrack>();
  const hide = (text: string) => mask.reduce((t, secret) => (secret ? t.split(secret).join('***') : t), text);
  const abort = new AbortController();

  const track = (digest: string): VertexTrack => {
    let v = vertexes.get(digest);
    if (!v) {
      v = { name: digest, lines: [], partial: new Map() };
      vertexes.set(digest, v);
    }
    return v;
  };

  const status = (async () => {
    for await (const update of client.control.status({ Ref: ref }, { signal: abort.signal })) {
      for (const vertex of update.vertexes) {
        const v = track(vertex.digest);
        v.name = hide(vertex.name);
        const state: VertexState | undefined = vertex.error
          ? 'failed'
          : vertex.cached
            ? 'cached'
            : vertex.completed
              ? 'completed'
              : vertex.started
                ? 'started'
                : undefined;
        if (!state || state === v.state) continue;
        v.state = state;
        const started = ms(vertex.started);
        const completed = ms(vertex.completed);
        listener.onVertex?.({
          digest: vertex.digest,
          name: v.name,
          state,
          ...(started !== undefined ? { started } : {}),
          ...(completed !== undefined ? { completed } : {}),
          ...(started !== undefined && completed !== undefined ? { durationMs: completed - started } : {}),
          ...(vertex.error ? { error: hide(vertex.error) } : {}),
        });
      }
      for (const s of update.statuses) {
        listener.onProgress?.({
          vertex: s.vertex,
          id: s.ID,
          current: Number(s.current),
          ...(s.total > 0n ? { total: Number(s.total) } : {}),
        });
      }
      for (const log of update.logs) {
        const v = track(log.vertex);
        const stream = log.stream === 2n ? 'stderr' : 'stdout';
        const text = (v.partial.get(stream) ?? '') + Buffer.from(log.msg).toString('utf8');
        const parts = text.split(/\r?\n/);
        v.partial.set(stream, parts.pop() ?? '');
        for (const raw of parts) {
          const line = hide(raw);
          v.lines.push(line);
          if (v.lines.length > KEEP_LINES) v.lines.shift();
          listener.onLog?.({ vertex: log.vertex, name: v.name, stream, line });
        }
      }
    }
  })().catch(() => {
    // The status stream ends with the solve; its own failures only cost progress output.
  });

  try {
    // Cancelling the Solve call makes BuildKit stop the build (Ctrl-C, a step timeout).
    const answer = await client.control.solve(create(SolveRequestSchema, { ...request, Ref: ref }), {
      ...(signal ? { signal } : {}),
    });
    await status;
    return answer.ExporterResponse;
  } catch (error) {
    if (signal?.aborted) {
      abort.abort();
      throw new VnfpipeError('CANCELLED', 'the build was cancelled', { where: client.address.display });
    }
    // The failing vertex's last logs may still be in flight on the status stream: give it a moment.
    await Promise.race([status, new Promise((r) => setTimeout(r, 2000).unref())]);
    abort.abort();
    throw solveFailure(client, error, vertexes, hide);
  }
}

function solveFailure(
  client: BuildkitClient,
  error: unknown,
  vertexes: Map<string, VertexTrack>,
  hide: (text: string) => string,
): VnfpipeError {
  if (!(error instanceof ConnectError)) return client.failure(error);
  const message = hide(error.rawMessage);
  const failed = [...vertexes.values()].find((v) => v.state === 'failed');
  if (/executor failed running|did not complete successfully|exit code: \d+/.test(message)) {
    const tail = failed?.lines.filter((l) => l.trim() !== '').slice(-10) ?? [];
    const output = tail.length ? `\n${tail.map((l) => `  | ${l}`).join('\n')}` : '';
    return new VnfpipeError('BUILD_FAILED', `${message}${output}`, {
      where: failed?.name ?? client.address.display,
    });
  }
  if (
    /pull access denied|failed to resolve|not found: not found|docker\.io|failed to do request/.test(message)
  ) {
    return new VnfpipeError('BUILD_INVALID', message, {
      where: failed?.name ?? client.address.display,
      hint: 'base images are never pulled from Docker Hub here: build the base and load it into the engine (or refer to it by a local tag)',
    });
  }
  if (
    /failed to create LLB definition|parse error|could not be found|unknown instruction|dockerfile/i.test(
      message,
    )
  ) {
    return new VnfpipeError('BUILD_INVALID', message, { where: client.address.display });
  }
  return new VnfpipeError('BUILD_FAILED', message, { where: failed?.name ?? client.address.display });
}
