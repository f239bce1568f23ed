import { compareTokenIds, type TokenEvent, type TokenReader, type TokenStream } from '../../src/streaming/token-stream';

/** How long one blocking read waits before it asks again (and notices a stream that has ended). */
const BLOCK_MS = 5000;

/**
 * Relays one run's token events to one client, each exactly once and in order: a blocking read
 * delivers them as they come, `drain` delivers what is stored now (before a step's `done` or the
 * run's result goes out, so no text trails them), and `drainThrough` delivers the stored events up
 * to a call's last one (a reader catching up with a run's history gets each step's text before that
 * step's `done`, as a live reader did, not all of it before the first). All go through one cursor,
 * so none repeats what another sent.
 */
export class TokenRelay {
  private readonly reader: TokenReader;
  private stopped = false;
  private pumping?: Promise<void>;
  /** Stored events after the cursor, read ahead by drainThrough. */
  private backlog: TokenEvent[] = [];

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

  /** Delivers every event stored by now (a read returns a page at a time: until one is empty). */
  async drain(): Promise<void> {
    if (this.stopped) return;
    try {
      this.deliverAll(this.backlog.splice(0));
      for (let page = await this.stream.readAfter(this.runId, this.cursor); page.length; page = await this.stream.readAfter(this.runId, this.cursor)) {
        this.deliverAll(page);
        if (this.stopped) return;
      }
    } catch (error) {
      this.onError(error as Error);
    }
  }

  /** Delivers the stored events up to the last one of `call` (and none after it); nothing when none of its is stored. */
  async drainThrough(call: string): Promise<void> {
    if (this.stopped) return;
    try {
      for (let after = this.backlog.at(-1)?.id ?? this.cursor; ;) {
        const page = await this.stream.readAfter(this.runId, after);
        if (!page.length) break;
        this.backlog.push(...page);
        after = page.at(-1)!.id;
      }
    } catch (error) {
      this.onError(error as Error);
      return;
    }
    const through = this.backlog.map((event) => event.call).lastIndexOf(call);
    this.deliverAll(this.backlog.splice(0, through + 1));
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
