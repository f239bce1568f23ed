import type { TokenStream } from '../src/streaming/token-stream';

/** One attempt's token events: `attempt` first, then each text piece in order; `flushed` once all are stored. */
export interface AttemptTokens {
  text(piece: string): void;
  flushed(): Promise<void>;
}

/**
 * Publishes an attempt's token events without making the provider call wait for them. Each is sent
 * at once: a transport keeps the order it is called in (Redis pipelines one connection's commands in
 * order), so no publish waits for the one before, and none can fail the call.
 */
export function attemptTokens(
  tokens: Pick<TokenStream, 'publish'>,
  runId: string,
  { step, call, attempt }: { step: string; call: string; attempt: number },
): AttemptTokens {
  const pending = new Set<Promise<void>>();
  const publish = (event: Parameters<TokenStream['publish']>[1]) => {
    const sent = tokens.publish(runId, event).finally(() => pending.delete(sent));
    pending.add(sent);
  };
  publish({ kind: 'attempt', step, call, attempt });
  return {
    text: (piece) => publish({ kind: 'token', step, call, attempt, text: piece }),
    flushed: async () => {
      await Promise.all([...pending]);
    },
  };
}
