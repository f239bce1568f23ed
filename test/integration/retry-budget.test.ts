import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../src/pipeline/failures';
import type {
  PipelineDefinition,
  PipelineFailureDetails,
  PipelineRunInput,
  ProviderStep,
  RunDefaults,
  StepResult,
  StepRetryPolicy,
} from '../../src/pipeline/types';
import { pipelineWorkflow } from '../../workflows';
import { startTestStack, type TestStack } from '../helpers/stack';

/** Short waits between attempts, so many attempts fit in a fast test. */
const QUICK_BACKOFF: StepRetryPolicy = { initialInterval: '50ms', backoffCoefficient: 1 };

/**
 * Issue 18, finding 3: a step retries transient failures for a time budget, not a fixed number of
 * attempts; explicit maximumAttempts still counts; non-retryable failures fail at once.
 */
describe('step retry budget', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack('retry-budget', { latencyMs: 5 });
  });
  afterAll(() => stack?.close());
  beforeEach(() => stack.simulator.clearRequests());

  const oneStep = (retry: StepRetryPolicy, extra: Partial<ProviderStep> = {}): PipelineDefinition => ({
    name: 'one-step',
    steps: [{ id: 'only', provider: 'cohere', task: 'generate', prompt: '{{input.prompt}}', retry, ...extra }],
  });
  const run = (pipeline: PipelineDefinition, prompt: string, defaults?: RunDefaults) =>
    stack.client.workflow.execute(pipelineWorkflow, {
      workflowId: `retry-budget-${randomUUID()}`,
      taskQueue: stack.temporal.taskQueue,
      args: [{ pipeline, input: { prompt }, ...(defaults ? { defaults } : {}) } satisfies PipelineRunInput],
    });
  const failureOf = async (result: Promise<unknown>) => {
    const error = await result.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe(FailureType.PipelineStepFailed);
    return cause.details?.[0] as PipelineFailureDetails;
  };
  const statuses = () => stack.simulator.requests().map((record) => record.status);

  it('by default, a provider that fails transiently 8 times and then answers completes the step (5 attempts would have failed)', async () => {
    const result = await run(oneStep(QUICK_BACKOFF), 'Flaky [[sim:cohere:503x8]]');
    expect((result.steps.only as StepResult).attempt).toBe(9);
    expect(statuses()).toEqual([...Array(8).fill(503), 200]);
  });

  it('an explicit maximumAttempts still counts: the same provider fails the step after 5 attempts', async () => {
    const details = await failureOf(run(oneStep({ ...QUICK_BACKOFF, maximumAttempts: 5 }), 'Flaky [[sim:cohere:503x8]]'));
    expect(details.error.type).toBe(FailureType.ProviderUnavailable);
    expect(statuses()).toEqual(Array(5).fill(503));
  });

  it('a non-retryable failure fails the step at once, whatever the budget', async () => {
    const details = await failureOf(run(oneStep(QUICK_BACKOFF), 'Key [[sim:cohere:401]]'));
    expect(details.error.type).toBe(FailureType.ProviderAuthFailed);
    expect(statuses()).toEqual([401]);
  });

  it('a step fails as RetryBudgetExhausted once its own budget is spent', async () => {
    const startedAt = Date.now();
    const details = await failureOf(run(oneStep({ ...QUICK_BACKOFF, initialInterval: '200ms', budget: '3s' }), 'Down [[sim:cohere:503]]'));
    const elapsedMs = Date.now() - startedAt;
    expect(details.error).toEqual({
      type: FailureType.RetryBudgetExhausted,
      message: expect.stringMatching(/^Retried for the whole retry budget; the last attempt /),
    });
    // Attempts at least 200 ms apart (the dev server dispatches a retry about a second later) within 3 s, then no more.
    expect(statuses().length).toBeGreaterThanOrEqual(2);
    expect(statuses().length).toBeLessThanOrEqual(16);
    expect(new Set(statuses())).toEqual(new Set([503]));
    expect(elapsedMs).toBeGreaterThanOrEqual(2800);
  });

  it("the run's default budget (CHORUS_STEP_RETRY_BUDGET, carried in the run input) applies to steps that set none", async () => {
    const details = await failureOf(run(oneStep({ ...QUICK_BACKOFF, initialInterval: '200ms' }), 'Down [[sim:cohere:503]]', { retryBudget: '3s' }));
    expect(details.error.type).toBe(FailureType.RetryBudgetExhausted);
    expect(statuses().length).toBeGreaterThanOrEqual(2);
    expect(statuses().length).toBeLessThanOrEqual(16);
  });

  it('a fallback takes over once the primary has spent its budget, and gets a budget of its own', async () => {
    const pipeline = oneStep({ ...QUICK_BACKOFF, initialInterval: '200ms', budget: '3s' }, { fallback: [{ provider: 'gemini' }] });
    const result = await run(pipeline, 'Down [[sim:cohere:503]] [[sim:gemini:503x1]]');
    const answer = result.steps.only as StepResult;
    expect(answer).toMatchObject({ provider: 'gemini', attempt: 2, fallbackFrom: { provider: 'cohere', error: { type: FailureType.RetryBudgetExhausted } } });
    const requests = stack.simulator.requests();
    const cohere = requests.filter((record) => record.provider === 'cohere');
    const gemini = requests.filter((record) => record.provider === 'gemini');
    expect(gemini.map((record) => record.status)).toEqual([503, 200]);
    expect(gemini[0].receivedAt).toBeGreaterThanOrEqual(Math.max(...cohere.map((record) => record.receivedAt)));
    expect(gemini[0].receivedAt - cohere[0].receivedAt).toBeGreaterThanOrEqual(2800);
  });
});
