import { join } from 'node:path';

export const HISTORY_FIXTURES_DIR = join(__dirname, '..', 'fixtures', 'histories');

/** One recorded history per pipeline shape: name → the named pipeline and input that produce it. */
export const RECORDED_SHAPES: Record<string, { pipeline: string; input: Record<string, unknown>; approve?: boolean }> = {
  'classic-completed': { pipeline: 'classic', input: { prompt: 'A great and reliable system' } },
  'classic-retried-503': { pipeline: 'classic', input: { prompt: 'Flaky [[sim:cohere:503x1]]' } },
  'classic-failed-401': { pipeline: 'classic', input: { prompt: 'Bad key [[sim:gemini:401]]' } },
  'classic-cancelled': { pipeline: 'classic', input: { prompt: 'Slow [[sim:openai,latency=20000]]' } },
  'parallel-judge-completed': { pipeline: 'parallel-judge', input: { text: 'Queues decouple services. They absorb bursts.' } },
  // A member fails while its sibling is still at the provider: the sibling is cancelled (patch chorus-cancel-failed-siblings).
  'parallel-judge-member-failed': { pipeline: 'parallel-judge', input: { text: 'Two views [[sim:openai,latency=20000]] [[sim:cohere:401,latency=1000]]' } },
  'escalate-escalated': { pipeline: 'escalate', input: { message: 'Terrible, awful, broken: a crash, a loss, a failure. I hate it.' } },
  'escalate-skipped': { pipeline: 'escalate', input: { message: 'Great, happy, a win and a success, I love it.' } },
  'digest-with-fallback': { pipeline: 'digest', input: { documents: ['First doc. More.', 'Second doc [[sim:cohere:401]]', 'Third doc.', 'Fourth doc.'] } },
  'reviewed-post-approved': { pipeline: 'reviewed-post', input: { topic: 'Durable AI jobs' }, approve: true },
};
