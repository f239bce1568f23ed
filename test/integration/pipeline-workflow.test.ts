import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import { FailureType } from '../../src/pipeline/failures';
import { COST_ATTRIBUTE, TOKENS_ATTRIBUTE } from '../../src/pipeline/search-attributes';
import type { PipelineDefinition, PipelineFailureDetails, PipelineResult, PipelineRunInput, StepResult } from '../../src/pipeline/types';
import { pipelineWorkflow } from '../../workflows';
import { progressQuery } from '../../workflows/definitions';
import { shippedPipeline, startTestStack, type TestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';

const classicPipeline = shippedPipeline('classic');
/** A provider step's result (not a map's). */
const call = (result: PipelineResult, id: string) => result.steps[id] as StepResult;

/** The pipeline workflow on the real Temporal dev server, with a real worker and the simulator. */
describe('pipeline workflow', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack('pipeline-workflow', { latencyMs: 5 });
  });
  afterAll(() => stack.close());
  beforeEach(() => stack.simulator.clearRequests());

  const start = (input: Record<string, unknown>, pipeline: PipelineDefinition = classicPipeline) =>
    stack.client.workflow.start(pipelineWorkflow, {
      workflowId: `test-${randomUUID()}`,
      taskQueue: stack.temporal.taskQueue,
      args: [{ pipeline, input } satisfies PipelineRunInput],
    });
  const failureOf = async (promise: Promise<unknown>) => {
    const error = await promise.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    return (error as WorkflowFailedError).cause;
  };
  const requestsTo = (provider: string) => stack.simulator.requests().filter((request) => request.provider === provider);

  it('runs draft (OpenAI) → summary (Cohere) → sentiment (Gemini) and returns each answer with usage', async () => {
    const handle = await start({ prompt: 'Reliable systems are a great benefit' });
    const result = await handle.result();

    expect(Object.keys(result.steps)).toEqual(['draft', 'summary', 'sentiment']);
    expect(call(result, 'draft')).toMatchObject({ provider: 'openai', model: 'gpt-4o-mini', simulated: true, attempt: 1 });
    expect(call(result, 'summary').provider).toBe('cohere');
    expect(call(result, 'sentiment').provider).toBe('gemini');
    expect(result.output.draft).toContain('Reliable systems are a great benefit');
    // The summary is made from the draft, and the sentiment is judged on the summary.
    expect(result.output.summary).toBe(call(result, 'summary').text);
    expect(call(result, 'draft').text.startsWith(call(result, 'summary').text)).toBe(true);
    expect(result.output.sentiment).toEqual(expect.objectContaining({ label: expect.stringMatching(/^(positive|negative|neutral)$/) }));

    // Usage: every call with tokens, latency, attempts and an estimated cost from the price table.
    expect(result.usage.steps.map((usage) => usage.step)).toEqual(['draft', 'summary', 'sentiment']);
    const draft = call(result, 'draft');
    expect(draft.costUsd).toBeCloseTo((draft.usage.inputTokens * 0.15 + draft.usage.outputTokens * 0.6) / 1e6, 10);
    expect(result.usage.total.inputTokens).toBe(['draft', 'summary', 'sentiment'].reduce((sum, id) => sum + call(result, id).usage.inputTokens, 0));
    expect(result.usage.total.costUsd).toBeGreaterThan(0);
    expect(result.usage.costIncomplete).toBe(false);
    const attributes = (await handle.describe()).typedSearchAttributes;
    expect(attributes.get(COST_ATTRIBUTE)).toBeCloseTo(result.usage.total.costUsd, 10);
    expect(attributes.get(TOKENS_ATTRIBUTE)).toBe(result.usage.total.inputTokens + result.usage.total.outputTokens);
    expect(stack.simulator.requests().map((request) => request.provider)).toEqual(['openai', 'cohere', 'gemini']);

    expect(await handle.query(progressQuery)).toEqual([
      { id: 'draft', provider: 'openai', status: 'done', attempts: 1 },
      { id: 'summary', provider: 'cohere', status: 'done', attempts: 1 },
      { id: 'sentiment', provider: 'gemini', status: 'done', attempts: 1 },
    ]);
  });

  it('retries a step that got 503 until it succeeds, under its own retry policy', async () => {
    const result = await (await start({ prompt: 'Queues [[sim:cohere:503x2]]' })).result();
    expect(call(result, 'summary').attempt).toBe(3);
    expect(call(result, 'draft').attempt).toBe(1);
    expect(requestsTo('cohere').map((request) => request.status)).toEqual([503, 503, 200]);
  });

  it('waits at least the Retry-After of a 429 before the next attempt', async () => {
    const result = await (await start({ prompt: 'Limits [[sim:openai:429x1,retry-after=2]]' })).result();
    expect(call(result, 'draft').attempt).toBe(2);
    const [limited, retried] = requestsTo('openai');
    expect(limited.status).toBe(429);
    expect(retried.receivedAt - limited.receivedAt).toBeGreaterThanOrEqual(2000);
  });

  it('fails at once, without retrying, on a 401 and reports the step and failure type', async () => {
    const cause = await failureOf((await start({ prompt: 'Keys [[sim:gemini:401]]' })).result());
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe(FailureType.PipelineStepFailed);
    const details = (cause as ApplicationFailure).details?.[0] as PipelineFailureDetails;
    expect(details.step).toBe('sentiment');
    expect(details.error.type).toBe(FailureType.ProviderAuthFailed);
    expect(details.progress.map((step) => step.status)).toEqual(['done', 'done', 'failed']);
    expect(requestsTo('gemini')).toHaveLength(1);
  });

  it('gives up after the step’s maximumAttempts', async () => {
    const pipeline: PipelineDefinition = {
      name: 'one-step',
      steps: [{ id: 'only', provider: 'openai', task: 'generate', prompt: '{{input.prompt}}', retry: { maximumAttempts: 2, initialInterval: '100ms' } }],
    };
    const cause = (await failureOf((await start({ prompt: 'x [[sim:500]]' }, pipeline)).result())) as ApplicationFailure;
    expect((cause.details?.[0] as PipelineFailureDetails).error.type).toBe(FailureType.ProviderUnavailable);
    expect(requestsTo('openai')).toHaveLength(2);
  });

  it('fails as InvalidPipeline when a template reads a value that does not exist', async () => {
    const cause = (await failureOf((await start({ topic: 'no prompt field' })).result())) as ApplicationFailure;
    expect((cause.details?.[0] as PipelineFailureDetails).error).toMatchObject({ type: FailureType.InvalidPipeline });
    expect(stack.simulator.requests()).toHaveLength(0);
  });

  it('cancellation stops the running step and ends the run as cancelled', async () => {
    const handle = await start({ prompt: 'Slow [[sim:openai,latency=20000]]' });
    await waitFor('the draft call to reach the simulator', () => requestsTo('openai').length > 0, 15_000, 50);
    await handle.cancel();
    const cause = await failureOf(handle.result());
    expect(cause).toBeInstanceOf(CancelledFailure);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    expect((await handle.query(progressQuery)).map((step) => step.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
  });
});
