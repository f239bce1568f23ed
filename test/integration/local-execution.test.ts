import { randomUUID } from 'node:crypto';
import type { SimulatorRequestRecord } from '../../simulator/server';
import type { ExecutionMode, PipelineDefinition, PipelineResult, PipelineRunInput, ProviderStep, StepResult } from '../../src/pipeline/types';
import { pipelineWorkflow } from '../../workflows';
import { shippedPipeline, startTestStack, type TestStack } from '../helpers/stack';

const classic = shippedPipeline('classic');
const inMode = (execution: ExecutionMode, pipeline: PipelineDefinition = classic): PipelineDefinition => ({ ...pipeline, execution });
const call = (result: PipelineResult, id: string) => result.steps[id] as StepResult;

/** Most requests the simulator had in flight at one moment. */
function maxInFlight(records: SimulatorRequestRecord[]): number {
  const edges = records.flatMap((record) => [
    { at: record.receivedAt, delta: 1 },
    { at: record.answeredAt ?? record.abandonedAt ?? Infinity, delta: -1 },
  ]);
  // An answer and an arrival at the same millisecond: the answer first.
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let open = 0;
  let most = 0;
  for (const edge of edges) most = Math.max(most, (open += edge.delta));
  return most;
}

/** `execution: local` runs provider calls as local activities in the workflow worker; `remote` (the default) as activities on provider queues. */
describe('execution modes', () => {
  let stack: TestStack;

  beforeAll(async () => {
    // OpenAI: at most 2 calls at once per worker process, in either mode.
    stack = await startTestStack('local-execution', { latencyMs: 5 }, {}, { settings: { providerLimits: { openai: { maxConcurrency: 2 } } } });
  });
  afterAll(() => stack.close());
  beforeEach(() => stack.simulator.clearRequests());

  const run = async (pipeline: PipelineDefinition, prompt: string, input: Record<string, unknown> = {}) => {
    const handle = await stack.client.workflow.start(pipelineWorkflow, {
      workflowId: `local-${randomUUID()}`,
      taskQueue: stack.temporal.taskQueue,
      args: [{ pipeline, input: { prompt, ...input } } satisfies PipelineRunInput],
    });
    const result = await handle.result();
    const events = (await handle.fetchHistory()).events ?? [];
    const count = (type: string) => events.filter((event) => event[type as keyof typeof event] != null).length;
    return {
      result,
      activitiesScheduled: count('activityTaskScheduledEventAttributes'),
      // Local activities' result markers, not the version markers of patched() code paths.
      markers: events.filter((event) => event.markerRecordedEventAttributes?.markerName === 'core_local_activity').length,
      workflowTasks: count('workflowTaskCompletedEventAttributes'),
    };
  };

  it('local: the classic pipeline runs as local activities, its three sequential calls in fewer workflow tasks than remote', async () => {
    const local = await run(inMode('local'), 'Local steps');
    expect(local.result.output.draft).toContain('Local steps');
    expect(local.result.output.sentiment).toEqual(expect.objectContaining({ label: expect.any(String) }));
    expect(stack.simulator.requests().map((request) => request.provider)).toEqual(['openai', 'cohere', 'gemini']);
    expect(local.activitiesScheduled).toBe(0);
    // One marker per call: the result recorded with the workflow task completion.
    expect(local.markers).toBe(3);

    const remote = await run(inMode('remote'), 'Remote steps');
    expect(remote.activitiesScheduled).toBe(3);
    expect(remote.markers).toBe(0);
    expect(local.workflowTasks).toBeLessThan(remote.workflowTasks);
  });

  it('a pipeline without a mode runs remote (runs recorded before modes existed replay unchanged)', async () => {
    const { activitiesScheduled, markers } = await run(classic, 'No mode named');
    expect(activitiesScheduled).toBe(3);
    expect(markers).toBe(0);
  });

  it("a step's own mode wins over its pipeline's", async () => {
    const pipeline = inMode('local', {
      ...classic,
      steps: classic.steps.map((step) => (step.id === 'summary' ? { ...step, execution: 'remote' as const } : step)),
    });
    const { activitiesScheduled, markers } = await run(pipeline, 'Mixed modes');
    expect(activitiesScheduled).toBe(1);
    expect(markers).toBe(2);
  });

  it('local: a step that got 503 twice is retried under its own policy until it succeeds, each attempt counted', async () => {
    const { result } = await run(inMode('local'), 'Retried locally [[sim:cohere:503x2]]');
    expect(call(result, 'summary').attempt).toBe(3);
    expect(call(result, 'draft').attempt).toBe(1);
    expect(
      stack.simulator
        .requests()
        .filter((request) => request.provider === 'cohere')
        .map((request) => request.status),
    ).toEqual([503, 503, 200]);
  });

  it("local: a non-retryable failure falls back to the step's fallback target", async () => {
    const pipeline = inMode('local', {
      name: 'local-fallback',
      steps: [{ id: 'draft', provider: 'openai', task: 'generate', prompt: '{{input.prompt}}', fallback: [{ provider: 'cohere' }] } satisfies ProviderStep],
    });
    const { result } = await run(pipeline, 'Fallback locally [[sim:openai:401]]');
    expect(call(result, 'draft')).toMatchObject({ provider: 'cohere', fallbackFrom: { provider: 'openai', error: { type: 'ProviderAuthFailed' } } });
  });

  it.each(['local', 'remote'] as const)("%s: a provider's concurrency limit holds for a map of 6 calls at concurrency 6", async (execution) => {
    const pipeline = inMode(execution, {
      name: 'wide-map',
      steps: [
        {
          id: 'each',
          map: { over: 'input.items', concurrency: 6, step: { provider: 'openai', task: 'generate', prompt: '{{item}} [[sim:openai,latency=300]]' } },
        },
      ],
    });
    const { result } = await run(pipeline, 'unused', { items: ['a', 'b', 'c', 'd', 'e', 'f'] });
    expect((result.output.each as unknown[]).length).toBe(6);
    const requests = stack.simulator.requests().filter((request) => request.provider === 'openai');
    expect(requests).toHaveLength(6);
    expect(maxInFlight(requests)).toBe(2);
  });
});
