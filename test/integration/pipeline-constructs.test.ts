import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../src/pipeline/failures';
import type { MapResult, PipelineDefinition, PipelineFailureDetails, PipelineResult, PipelineRunInput, StepResult } from '../../src/pipeline/types';
import { validatePipeline } from '../../src/pipeline/validate';
import type { SimulatorRequestRecord } from '../../simulator/server';
import { pipelineWorkflow } from '../../workflows';
import { progressQuery } from '../../workflows/definitions';
import { startImageServer, TINY_PNG_DATA_URL } from '../helpers/images';
import { shippedPipeline, startTestStack, type TestStack } from '../helpers/stack';

const call = (result: PipelineResult, id: string) => result.steps[id] as StepResult;

/** Most requests that were in flight at once, from the simulator's arrival and answer times. */
function maxInFlight(records: SimulatorRequestRecord[]): number {
  const events = records.flatMap((record) => [
    { at: record.receivedAt, delta: 1 },
    { at: record.answeredAt ?? Infinity, delta: -1 },
  ]);
  events.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let current = 0;
  let peak = 0;
  for (const { delta } of events) peak = Math.max(peak, (current += delta));
  return peak;
}

/** Every pipeline construct on the real Temporal dev server with a real worker and the simulator. */
describe('pipeline constructs', () => {
  let stack: TestStack;
  let images: Awaited<ReturnType<typeof startImageServer>>;

  beforeAll(async () => {
    images = await startImageServer();
    // Image rules opened up for the loopback image server; the activity tests cover the closed rules.
    const rules = { maxBytes: 1024 * 1024, allowHttp: true, allowPrivateHosts: true, timeoutMs: 2000 };
    stack = await startTestStack('pipeline-constructs', { latencyMs: 200 }, { images: rules });
  });
  afterAll(async () => {
    await stack.close();
    await images.close();
  });
  beforeEach(() => stack.simulator.clearRequests());

  const run = async (pipeline: PipelineDefinition, input: Record<string, unknown>) => {
    expect(validatePipeline(pipeline).problems).toEqual([]);
    const handle = await stack.client.workflow.start(pipelineWorkflow, {
      workflowId: `${pipeline.name}-${randomUUID()}`,
      taskQueue: stack.temporal.taskQueue,
      args: [{ pipeline, input } satisfies PipelineRunInput],
    });
    return { handle, result: handle.result() };
  };
  const requestsTo = (provider: string) => stack.simulator.requests().filter((record) => record.provider === provider);
  const stepFailure = async (promise: Promise<unknown>) => {
    const error = await promise.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe(FailureType.PipelineStepFailed);
    return cause.details?.[0] as PipelineFailureDetails;
  };

  it('parallel: runs the group members at the same time, then the judge reads both', async () => {
    const { result } = await run(shippedPipeline('parallel-judge'), { text: 'Queues decouple services. They absorb bursts. They make retries safe.' });
    const output = (await result).output;
    expect(output.openai).toBe('Queues decouple services. They absorb bursts.');
    expect(output.cohere).toBe(output.openai);
    expect(output.verdict).toEqual({ label: expect.stringMatching(/^(first|second)$/), score: expect.any(Number) });
    expect(maxInFlight([...requestsTo('openai'), ...requestsTo('cohere')])).toBe(2);
    expect(requestsTo('gemini')[0].receivedAt).toBeGreaterThanOrEqual(
      Math.max(...[...requestsTo('openai'), ...requestsTo('cohere')].map((r) => r.answeredAt!)),
    );
  });

  it('when: escalates to the stronger model when the answer reads negative', async () => {
    const { handle, result } = await run(shippedPipeline('escalate'), {
      message: 'Terrible, awful, broken: a crash, a loss, a failure. I hate it and I am angry.',
    });
    const done = await result;
    expect((done.output.mood as { label: string }).label).toBe('negative');
    expect(call(done, 'escalated')).toMatchObject({ provider: 'openai', model: 'gpt-4o' });
    expect(done.output.answer).toBe(call(done, 'escalated').text);
    expect((await handle.query(progressQuery)).find((step) => step.id === 'escalated')?.status).toBe('done');
  });

  it('when: skips the escalation when the answer reads positive and confident', async () => {
    const { result } = await run(shippedPipeline('escalate'), { message: 'Great, happy, a win and a success, I love it.' });
    const done = await result;
    expect((done.output.mood as { label: string }).label).toBe('positive');
    expect(done.steps.escalated).toBeUndefined();
    expect(done.progress.find((step) => step.id === 'escalated')?.status).toBe('skipped');
    expect(done.output.answer).toBe(call(done, 'answer').text);
    expect(requestsTo('openai')).toHaveLength(0);
  });

  it('map: fans out over the list with at most `concurrency` calls at once, keeping order', async () => {
    const documents = Array.from({ length: 7 }, (_, index) => `Document number ${index} is about topic ${index}. It has more text.`);
    const { handle, result } = await run(shippedPipeline('digest'), { documents });
    const done = await result;
    const map = done.steps.summaries as MapResult;
    expect(map.items).toHaveLength(7);
    map.texts.forEach((text, index) => expect(text).toBe(`Document number ${index} is about topic ${index}. It has more text.`));
    expect(maxInFlight(requestsTo('cohere'))).toBe(3);
    expect(done.output.digest).toEqual(expect.any(String));
    expect(done.usage.steps.map((usage) => usage.step)).toEqual([...documents.map((_, index) => `summaries[${index}]`), 'digest']);
    expect((await handle.query(progressQuery))[0]).toMatchObject({ id: 'summaries', status: 'done', items: { done: 7, total: 7 } });
  });

  it('map: a list that is not a list fails as InvalidPipeline', async () => {
    const { result } = await run(shippedPipeline('digest'), { documents: 'not a list' });
    expect((await stepFailure(result)).error.type).toBe(FailureType.InvalidPipeline);
  });

  const oneStep = (extra: Record<string, unknown>, prompt = '{{input.prompt}}'): PipelineDefinition =>
    ({ name: 'one-step', steps: [{ id: 'only', provider: 'cohere', task: 'generate', prompt, ...extra }] }) as PipelineDefinition;

  it('fallback: uses the next provider once the step’s retries are exhausted', async () => {
    const pipeline = oneStep({ retry: { maximumAttempts: 2, initialInterval: '100ms' }, fallback: [{ provider: 'gemini', model: 'gemini-2.5-flash' }] });
    const done = await (await run(pipeline, { prompt: 'Busy [[sim:cohere:503]]' })).result;
    expect(call(done, 'only')).toMatchObject({
      provider: 'gemini',
      model: 'gemini-2.5-flash',
      fallbackFrom: { provider: 'cohere', error: { type: FailureType.ProviderUnavailable } },
    });
    expect(requestsTo('cohere')).toHaveLength(2);
  });

  it('fallback: a provider that refuses the key falls back at once, without retries', async () => {
    const done = await (await run(oneStep({ fallback: [{ provider: 'openai' }] }), { prompt: 'Key [[sim:cohere:401]]' })).result;
    expect(call(done, 'only').fallbackFrom?.error.type).toBe(FailureType.ProviderAuthFailed);
    expect(requestsTo('cohere')).toHaveLength(1);
  });

  it('timeout: a step slower than its startToClose fails after its own maximumAttempts', async () => {
    const pipeline = oneStep({ timeout: { startToClose: '1s' }, retry: { maximumAttempts: 2, initialInterval: '100ms' } });
    const details = await stepFailure((await run(pipeline, { prompt: 'Slow [[sim:cohere,latency=3000]]' })).result);
    expect(details.error.type).toBe('TimeoutFailure');
    expect(requestsTo('cohere')).toHaveLength(2);
  });

  it('structured output: classify returns one of the labels; extract returns schema-valid JSON, retrying an answer that breaks it', async () => {
    const schema = { type: 'object', properties: { product: { type: 'string' }, quantity: { type: 'integer' } }, required: ['product', 'quantity'] };
    const pipeline: PipelineDefinition = {
      name: 'structured',
      steps: [
        { id: 'topic', provider: 'openai', task: 'classify', labels: ['billing', 'shipping'], prompt: 'Which topic?\n\n{{input.text}}' },
        { id: 'order', provider: 'gemini', task: 'extract', schema, prompt: 'Extract the order.\n\n{{input.text}} [[sim:gemini:nonsensex1]]' },
      ],
    };
    const done = await (await run(pipeline, { text: 'My shipping of two lamps is late.' })).result;
    expect(call(done, 'topic').data).toEqual({ label: 'shipping', score: expect.any(Number) });
    expect(call(done, 'order').data).toEqual({ product: expect.any(String), quantity: expect.any(Number) });
    expect(call(done, 'order').attempt).toBe(2);
  });

  it('images: analyze-image reads a URL (fetched by the activity) and a data URL', async () => {
    const pipeline: PipelineDefinition = {
      name: 'vision',
      steps: [
        { id: 'fromUrl', provider: 'gemini', task: 'analyze-image', prompt: 'Describe it.', image: '{{input.imageUrl}}' },
        { id: 'inline', provider: 'openai', task: 'analyze-image', prompt: 'Describe it.', image: '{{input.imageData}}' },
      ],
    };
    const done = await (await run(pipeline, { imageUrl: `${images.url}/pixel.png`, imageData: TINY_PNG_DATA_URL })).result;
    expect(call(done, 'fromUrl').text).toContain('1x1 PNG');
    expect(call(done, 'inline').text).toContain('1x1 PNG');
  });

  it('images: a rejected image fails the step without retrying or falling back', async () => {
    const pipeline = {
      name: 'vision',
      steps: [{ id: 'look', provider: 'gemini', task: 'analyze-image', prompt: 'Describe it.', image: '{{input.image}}', fallback: [{ provider: 'openai' }] }],
    } as PipelineDefinition;
    const details = await stepFailure((await run(pipeline, { image: 'ftp://example.com/cat.png' })).result);
    expect(details.error.type).toBe(FailureType.ImageRejected);
    expect(stack.simulator.requests()).toHaveLength(0);
  });
});
