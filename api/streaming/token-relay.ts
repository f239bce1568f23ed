import { compareTokenIds, type TokenEvent, type TokenReader, type TokenStream } from '../../src/streaming/token-stream';

/** How long one blocking read waits before it asks again (and notices a stream that has ended). */
const BLOCK_MS = 5000;

/**
 * Relays one run's token events to one client, each exactly once and in order: a blocking read
 * delivers them as they come, and `drain` delivers what is stored now (before a step's `done` or the
 * run's result goes out, so no text trails them). Both go through one cursor, so neither repeats
 * what the other sent.
 */
export class TokenRelay {
  private readonly reader: TokenReader;
  private stopped = false;
  private pumping?: Promise<void>;

  constructor(
    private readonly stream: TokenStream,
    private readonly runId: string,
    /** The last token event the client has. */
    private cursor: string,
    private readonly deliver: (event: TokenEvent) => void,
    private readonly onError: (error: Error) => void,
  ) {
    this.reader = stream.openReader(runId);
  }

  /** Starts delivering events as they come, until `stop` (or the transport fails: `onError`, once). */
  start(): void {
    this.pumping = (async () => {
      while (!this.stopped) {
        try {
          this.deliverAll(await this.reader.read(this.cursor, BLOCK_MS));
        } catch (error) {
          if (!this.stopped) this.onError(error as Error);
          return;
        }
      }
    })();
  }

  /** Delivers every event stored by now. */
  async drain(): Promise<void> {
    if (this.stopped) return;
    try {
      this.deliverAll(await this.stream.readAfter(this.runId, this.cursor));
    } catch (error) {
      this.onError(error as Error);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.reader.close();
    await this.pumping;
  }

  private deliverAll(events: TokenEvent[]): void {
    for (const event of events) {
      if (this.stopped || compareTokenIds(event.id, this.cursor) <= 0) continue;
      this.cursor = event.id;
      this.deliver(event);
    }
  }
}
