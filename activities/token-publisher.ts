import type { TokenStream } from '../src/streaming/token-stream';

/** One attempt's token events: `attempt` first, then each text piece in order; `flushed` once all are stored. */
export interface AttemptTokens {
  text(piece: string): void;
  flushed(): Promise<void>;
}

/**
 * Publishes an attempt's token events without making the provider call wait for them: each publish
 * is chained after the one before (so the stream keeps their order) and none can fail the call.
 */
export function attemptTokens(
  tokens: Pick<TokenStream, 'publish'>,
  runId: string,
  { step, call, attempt }: { step: string; call: string; attempt: number },
): AttemptTokens {
  let chain = tokens.publish(runId, { kind: 'attempt', step, call, attempt });
  return {
    text(piece) {
      chain = chain.then(() => tokens.publish(runId, { kind: 'token', step, call, attempt, text: piece }));
    },
    flushed: () => chain,
  };
}
