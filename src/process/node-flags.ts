/**
 * V8 flags each long-running Chorus process starts with, wherever it is started: the launcher
 * (`npm start`), the npm scripts, the images (Dockerfile, compose) and the benchmark. A unit test
 * holds those places to these lists. Measured in bench/NOTES.md ("Memory", issue 13).
 */
export const NODE_FLAGS = {
  /**
   * The API allocates per request and keeps little (~20 kB per open long-poll): 1 MB semi-spaces
   * (V8's default grows to 16 MB each) and V8's size-first heap growth keep its garbage from
   * becoming resident memory (1,000 open long-polls: 205 → 142 MB).
   */
  api: ['--max-semi-space-size=1', '--optimize-for-size'],
  /** The worker runs two V8 isolates (main thread and workflow thread), each with its own new space (up to 32 MB by default). */
  worker: ['--max-semi-space-size=2'],
} as const satisfies Record<string, readonly string[]>;

export type NodeFlagsProcess = keyof typeof NODE_FLAGS;
