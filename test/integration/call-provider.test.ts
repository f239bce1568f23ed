import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities, type ProviderStepInput } from '../../activities';
import { AnsweredCalls } from '../../activities/answered-calls';
import type { RunIsOpen } from '../../activities/run-status';
import { FailureType } from '../../src/pipeline/failures';
import type { StepResult } from '../../src/pipeline/types';
import { PROVIDER_NAMES } from '../../src/pipeline/providers';
import { startSimulator, type RunningSimulator } from '../../simulator/server';
import { createProviderHttpClient } from '../../worker/worker';
import { startImageServer, TINY_PNG_DATA_URL } from '../helpers/images';
import { simulatedProviders } from '../helpers/stack';
import { sleep, waitFor } from '../helpers/wait';

/** The provider activity against the real simulator over real HTTP, in a mocked activity context. */
describe('callProvider activity', () => {
  let simulator: RunningSimulator;
  let activities: ReturnType<typeof createActivities>;

  beforeAll(async () => {
    simulator = await startSimulator({ seed: 11 });
    activities = createActivities({
      http: createProviderHttpClient(),
      providers: { ...simulatedProviders(simulator.url), requestTimeoutMs: 1500, maxRetryAfterMs: 60_000 },
    });
  });
  afterAll(() => simulator.close());

  const step = (overrides: Partial<ProviderStepInput>): ProviderStepInput => ({
    stepId: 'step',
    provider: 'openai',
    task: 'generate',
    prompt: 'Write about resilient pipelines.',
    ...overrides,
  });
  const quiet = { logger: new DefaultLogger('ERROR') };
  const run = (input: ProviderStepInput, env = new MockActivityEnvironment({ attempt: 2 }, quiet)): Promise<StepResult> =>
    env.run(activities.callProvider, input);
  const failureOf = async (input: ProviderStepInput): Promise<ApplicationFailure> => {
    const error = await run(input).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApplicationFailure);
    return error as ApplicationFailure;
  };

  it.each(PROVIDER_NAMES)('%s: returns text, token usage, model, provider, latency and the simulated label', async (provider) => {
    const result = await run(step({ provider }));
    expect(result).toMatchObject({ provider, simulated: true, attempt: 2 });
    expect(result.text).toContain('resilient pipelines');
    expect(result.model).toBe(simulatedProviders(simulator.url).endpoints[provider].defaultModel);
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect(result.usage.outputTokens).toBeGreaterThan(0);
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it.each(PROVIDER_NAMES)('%s: a sentiment step returns a parsed {label, score}', async (provider) => {
    const result = await run(step({ provider, task: 'sentiment', prompt: 'Sentiment?\n\nA great and happy success.' }));
    expect(result.data).toEqual({ label: 'positive', score: 1 });
  });

  it('uses the model the step names', async () => {
    expect((await run(step({ provider: 'gemini', model: 'gemini-2.5-pro' }))).model).toBe('gemini-2.5-pro');
  });

  it('a 503 is a retryable ProviderUnavailable', async () => {
    const failure = await failureOf(step({ prompt: 'x [[sim:503]]' }));
    expect(failure).toMatchObject({ type: FailureType.ProviderUnavailable, nonRetryable: false });
  });

  it('a 429 carries the Retry-After as nextRetryDelay', async () => {
    const failure = await failureOf(step({ provider: 'cohere', prompt: 'x [[sim:429,retry-after=7]]' }));
    expect(failure).toMatchObject({ type: FailureType.ProviderRateLimited, nonRetryable: false, nextRetryDelay: 7000 });
  });

  it('a 401 is a non-retryable ProviderAuthFailed', async () => {
    const failure = await failureOf(step({ provider: 'gemini', prompt: 'x [[sim:401]]' }));
    expect(failure).toMatchObject({ type: FailureType.ProviderAuthFailed, nonRetryable: true });
  });

  it('a body that is not the provider format is a retryable ProviderMalformedResponse', async () => {
    const failure = await failureOf(step({ prompt: 'x [[sim:malformed]]' }));
    expect(failure).toMatchObject({ type: FailureType.ProviderMalformedResponse, nonRetryable: false });
  });

  it.each(['openai', 'gemini'] as const)('%s: a content-filter block is a non-retryable ProviderContentFiltered', async (provider) => {
    const failure = await failureOf(step({ provider, prompt: 'x [[sim:refuse]]' }));
    expect(failure).toMatchObject({ type: FailureType.ProviderContentFiltered, nonRetryable: true });
  });

  it('a provider that hangs is cut off at the request timeout as a retryable ProviderTimeout', async () => {
    const failure = await failureOf(step({ prompt: 'x [[sim:hang]]' }));
    expect(failure).toMatchObject({ type: FailureType.ProviderTimeout, nonRetryable: false });
  });

  it('a sentiment answer that does not fit the schema is a retryable InvalidModelOutput', async () => {
    const failure = await failureOf(step({ provider: 'gemini', task: 'sentiment', prompt: 'x [[sim:nonsense]]' }));
    expect(failure).toMatchObject({ type: FailureType.InvalidModelOutput, nonRetryable: false });
  });

  it('an unreachable provider is a retryable ProviderNetworkError', async () => {
    const unreachable = createActivities({
      http: createProviderHttpClient(),
      providers: simulatedProviders('http://127.0.0.1:1'),
    });
    const error = await new MockActivityEnvironment({}, quiet).run(unreachable.callProvider, step({})).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ type: FailureType.ProviderNetworkError, nonRetryable: false });
  });

  describe('analyze-image', () => {
    let images: Awaited<ReturnType<typeof startImageServer>>;
    beforeAll(async () => {
      images = await startImageServer();
    });
    afterAll(() => images.close());

    const imageStep = (image: string, provider: ProviderStepInput['provider'] = 'gemini') =>
      step({ provider, task: 'analyze-image', prompt: 'What is in this picture?', image });
    const permissive = (overrides: Partial<ReturnType<typeof simulatedProviders>['images']> = {}) =>
      createActivities({
        http: createProviderHttpClient(),
        providers: {
          ...simulatedProviders(simulator.url),
          images: { maxBytes: 1024, allowHttp: true, allowPrivateHosts: true, timeoutMs: 2000, ...overrides },
        },
      });

    it.each(PROVIDER_NAMES)('%s: sends an inline data URL image to the model', async (provider) => {
      // Cohere's default model is text-only: an image step names its vision model.
      const result = await run({ ...imageStep(TINY_PNG_DATA_URL, provider), ...(provider === 'cohere' ? { model: 'command-a-vision-07-2025' } : {}) });
      expect(result.text).toContain('1x1 PNG');
    });

    it('fetches an image URL when the rules allow its host', async () => {
      const result: StepResult = await new MockActivityEnvironment({}, quiet).run(permissive().callProvider, imageStep(`${images.url}/pixel.png`));
      expect(result.text).toContain('1x1 PNG');
    });

    it.each([
      ['a loopback host', () => activities, () => `${images.url}/pixel.png`, /https: is allowed|not allowed/],
      ['a private address over https', () => activities, () => 'https://10.0.0.1/x.png', /not a public address/],
      ['a metadata-service address', () => activities, () => 'https://169.254.169.254/latest', /not a public address/],
      [
        'a host that resolves to loopback',
        () => permissive({ allowPrivateHosts: false }),
        () => images.url.replace('127.0.0.1', 'localhost') + '/pixel.png',
        /resolves to .*not a public address/,
      ],
      ['a file: URL', () => permissive(), () => 'file:///etc/passwd', /scheme file: is not allowed/],
      ['an image over the size cap', () => permissive(), () => `${images.url}/big.png`, /larger than 1024 bytes/],
      ['a URL that is not an image', () => permissive(), () => `${images.url}/page.html`, /text\/html, not an image/],
      ['a URL that answers 404', () => permissive(), () => `${images.url}/missing.png`, /HTTP 404/],
    ])('rejects %s without retrying', async (_case, activitiesFor, url, reason) => {
      const error = await new MockActivityEnvironment({}, quiet).run(activitiesFor().callProvider, imageStep(url())).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ type: FailureType.ImageRejected, nonRetryable: true });
      expect((error as Error).message).toMatch(reason);
    });
  });

  it('prices each call from the price table', async () => {
    const result = await run(step({ provider: 'gemini' }));
    expect(result.costUsd).toBeCloseTo((result.usage.inputTokens * 0.1 + result.usage.outputTokens * 0.4) / 1e6, 10);
    const unpriced = await run(step({ provider: 'gemini', model: 'gemini-experimental' }));
    expect(unpriced.costUsd).toBeNull();
  });

  it('classify answers one of the given labels; extract answers JSON that satisfies the schema', async () => {
    const classified = await run(
      step({ task: 'classify', labels: ['billing', 'shipping', 'other'], prompt: 'Classify:\n\nMy shipping is late, where is my shipping?' }),
    );
    expect(classified.data).toEqual({ label: 'shipping', score: expect.any(Number) });
    const schema = { type: 'object', properties: { name: { type: 'string' }, count: { type: 'integer' } }, required: ['name', 'count'] };
    const extracted = await run(step({ provider: 'cohere', task: 'extract', schema, prompt: 'Extract:\n\nAda ordered three lamps' }));
    expect(extracted.data).toEqual({ name: expect.any(String), count: expect.any(Number) });
  });

  it('an extract answer that breaks the schema is a retryable InvalidModelOutput', async () => {
    const schema = { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] };
    const failure = await failureOf(step({ task: 'extract', schema, prompt: 'x [[sim:nonsense]]' }));
    expect(failure).toMatchObject({ type: FailureType.InvalidModelOutput, nonRetryable: false });
  });

  it('cancellation aborts the in-flight HTTP call', async () => {
    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 300 }, quiet);
    const sent = simulator.requests().length;
    const call = run(step({ prompt: 'x [[sim:latency=5000]]' }), env);
    await waitFor('the call to reach the simulator', () => simulator.requests().length > sent, 5000, 20);
    env.cancel();
    const startedWaiting = Date.now();
    await expect(call).rejects.toBeInstanceOf(CancelledFailure);
    expect(Date.now() - startedWaiting).toBeLessThan(1000);
  });

  describe('answers Temporal did not record', () => {
    const answeredActivities = () =>
      createActivities({
        http: createProviderHttpClient(),
        providers: { ...simulatedProviders(simulator.url), requestTimeoutMs: 5000, maxRetryAfterMs: 60_000 },
        answered: new AnsweredCalls(),
      });
    const attempt = (attemptNumber: number, activityId = 'draft-1', startToCloseTimeoutMs = 5000) =>
      new MockActivityEnvironment(
        { attempt: attemptNumber, activityId, startToCloseTimeoutMs, workflowExecution: { workflowId: 'wf-answered', runId: 'run-1' } },
        quiet,
      );
    const providerRequests = () => simulator.requests().filter((record) => record.provider === 'cohere').length;
    const lastCohereRequest = () =>
      simulator
        .requests()
        .filter((record) => record.provider === 'cohere')
        .at(-1)!;
    const callAs = (activities: ReturnType<typeof answeredActivities>, env: MockActivityEnvironment, input: ProviderStepInput) =>
      env.run(activities.callProvider, input) as Promise<StepResult>;

    it('a retry of an activity this process already got an answer for returns it without calling the provider again', async () => {
      const activities = answeredActivities();
      const before = providerRequests();
      const first = await callAs(activities, attempt(1), step({ provider: 'cohere' }));
      const retried = await callAs(activities, attempt(2), step({ provider: 'cohere' }));
      expect(providerRequests() - before).toBe(1);
      expect(retried).toEqual({ ...first, attempt: 2 });
      // Another activity (another step, or a reset run) is a new call.
      await callAs(activities, attempt(2, 'summary-2'), step({ provider: 'cohere' }));
      expect(providerRequests() - before).toBe(2);
    });

    it('a local activity run again from attempt 1 (its workflow task was lost, the run replayed) takes the answer its first execution got', async () => {
      const activities = answeredActivities();
      const before = providerRequests();
      const local = (activityId: string) =>
        new MockActivityEnvironment(
          { attempt: 1, isLocal: true, activityId, startToCloseTimeoutMs: 5000, workflowExecution: { workflowId: 'wf-answered', runId: 'run-local' } },
          quiet,
        );
      const first = await callAs(activities, local('1'), step({ provider: 'cohere' }));
      const replayed = await callAs(activities, local('1'), step({ provider: 'cohere' }));
      expect(providerRequests() - before).toBe(1);
      expect(replayed).toEqual(first);
      // The run's next local activity is another call; a remote attempt 1 never reuses (it is the first).
      await callAs(activities, local('2'), step({ provider: 'cohere' }));
      await callAs(activities, attempt(1, '1', 5000), step({ provider: 'cohere' }));
      expect(providerRequests() - before).toBe(3);
    });

    it('a retry that comes while the first call still runs waits for it instead of calling again', async () => {
      const activities = answeredActivities();
      const before = providerRequests();
      const slow = step({ provider: 'cohere', prompt: 'Slow [[sim:latency=800]]' });
      const first = callAs(activities, attempt(1), slow);
      await waitFor('the first call to reach the simulator', () => providerRequests() > before, 5000, 20);
      const retried = await callAs(activities, attempt(2), slow);
      expect(providerRequests() - before).toBe(1);
      expect(retried.text).toBe((await first).text);
    });

    it('an attempt Temporal timed out ends at once, its call goes on, and the retry takes its answer', async () => {
      const activities = answeredActivities();
      const before = providerRequests();
      const slow = step({ provider: 'cohere', prompt: 'Outage [[sim:latency=800]]' });
      const timedOutEnv = attempt(1);
      const timedOut = callAs(activities, timedOutEnv, slow);
      await waitFor('the call to reach the simulator', () => providerRequests() > before, 5000, 20);
      timedOutEnv.cancel('TIMED_OUT');
      await expect(timedOut).rejects.toBeInstanceOf(CancelledFailure);
      const retried = await callAs(activities, attempt(2), slow);
      expect(retried).toMatchObject({ attempt: 2, provider: 'cohere' });
      expect(providerRequests() - before).toBe(1);
      expect(simulator.requests().at(-1)?.status).toBe(200);
    });

    it('a workflow cancel still aborts the call: nothing is left to reuse', async () => {
      const activities = answeredActivities();
      const cancelledEnv = attempt(1);
      const sent = providerRequests();
      const cancelled = callAs(activities, cancelledEnv, step({ provider: 'cohere', prompt: 'Stop [[sim:latency=5000]]' }));
      await waitFor('the call to reach the simulator', () => providerRequests() > sent, 5000, 20);
      const cancelledAt = Date.now();
      cancelledEnv.cancel('CANCELLED');
      await expect(cancelled).rejects.toBeInstanceOf(CancelledFailure);
      expect(Date.now() - cancelledAt).toBeLessThan(1000);
      const before = providerRequests();
      await callAs(activities, attempt(2), step({ provider: 'cohere', prompt: 'Stop [[sim:latency=10]]' }));
      expect(providerRequests() - before).toBe(1);
    });

    it("a retry after the step's own startToClose calls again: that timeout means too slow, not lost", async () => {
      const activities = answeredActivities();
      const before = providerRequests();
      const slow = step({ provider: 'cohere', prompt: 'Too slow [[sim:latency=1500]]' });
      const first = callAs(activities, attempt(1, 'slow-1', 400), slow);
      // Time passing is the point: the retry comes after the first attempt's 400 ms startToClose ran out.
      await sleep(500);
      await callAs(activities, attempt(2, 'slow-1', 400), step({ provider: 'cohere', prompt: 'Too slow, again [[sim:latency=10]]' }));
      expect(providerRequests() - before).toBe(2);
      await first;
    });

    describe("a NOT_FOUND heartbeat: a retry comes only if the attempt's run is still open", () => {
      const withRunStatus = (runIsOpen: RunIsOpen) =>
        createActivities({
          http: createProviderHttpClient(),
          providers: { ...simulatedProviders(simulator.url), requestTimeoutMs: 5000, maxRetryAfterMs: 60_000 },
          answered: new AnsweredCalls(),
          runIsOpen,
        });
      const heartbeating = (heartbeatTimeoutMs: number) =>
        new MockActivityEnvironment(
          {
            attempt: 1,
            activityId: 'draft-1',
            startToCloseTimeoutMs: 10_000,
            heartbeatTimeoutMs,
            workflowExecution: { workflowId: 'wf-closing', runId: 'run-1' },
          },
          quiet,
        );

      it('of a run that has closed (failed, terminated, timed out) aborts the call at once: the provider answers no one', async () => {
        const asked: string[] = [];
        const activities = withRunStatus(async (workflowId, runId) => (asked.push(`${workflowId}/${runId}`), false));
        const env = heartbeating(900);
        const before = providerRequests();
        const orphaned = callAs(activities, env, step({ provider: 'cohere', prompt: 'Closed run [[sim:latency=3000]]' }));
        await waitFor('the provider request', () => providerRequests() > before, 2000, 10);
        const closedAt = Date.now();
        env.cancel('NOT_FOUND');
        await expect(orphaned).rejects.toBeInstanceOf(CancelledFailure);
        await waitFor('the provider request to be aborted', () => lastCohereRequest().abandonedAt !== undefined, 3000, 10);
        expect(lastCohereRequest().abandonedAt! - closedAt).toBeLessThan(900);
        expect(asked).toEqual(['wf-closing/run-1']);
        // An abandoned request can no longer be answered: its connection is gone.
        expect(lastCohereRequest().answeredAt).toBeUndefined();
      });

      it('of a run still open (Temporal lost the attempt) goes on, and the retry takes its answer', async () => {
        const activities = withRunStatus(async () => true);
        const before = providerRequests();
        const slow = step({ provider: 'cohere', prompt: 'Lost attempt [[sim:latency=800]]' });
        const lostEnv = attempt(1);
        const lost = callAs(activities, lostEnv, slow);
        await waitFor('the provider request', () => providerRequests() > before, 2000, 10);
        lostEnv.cancel('NOT_FOUND');
        await expect(lost).rejects.toBeInstanceOf(CancelledFailure);
        const retried = await callAs(activities, attempt(2), slow);
        expect(retried).toMatchObject({ attempt: 2, provider: 'cohere' });
        expect(providerRequests() - before).toBe(1);
        expect(lastCohereRequest()).toMatchObject({ status: 200, answeredAt: expect.any(Number) });
      });

      it('when the server cannot say (it is down), the call goes on for the retry', async () => {
        const activities = withRunStatus(async () => {
          throw new Error('14 UNAVAILABLE: connection refused');
        });
        const before = providerRequests();
        const slow = step({ provider: 'cohere', prompt: 'Outage, unknown run [[sim:latency=800]]' });
        const lostEnv = attempt(1);
        const lost = callAs(activities, lostEnv, slow);
        await waitFor('the provider request', () => providerRequests() > before, 2000, 10);
        lostEnv.cancel('NOT_FOUND');
        await expect(lost).rejects.toBeInstanceOf(CancelledFailure);
        expect(await callAs(activities, attempt(2), slow)).toMatchObject({ attempt: 2 });
        expect(providerRequests() - before).toBe(1);
      });

      it('of a run that closes later, while its call goes on for a retry, stops the call within a heartbeat interval', async () => {
        let open = true;
        const activities = withRunStatus(async () => open);
        const env = heartbeating(900);
        const before = providerRequests();
        const kept = callAs(activities, env, step({ provider: 'cohere', prompt: 'Closes later [[sim:latency=4000]]' }));
        await waitFor('the provider request', () => providerRequests() > before, 2000, 10);
        env.cancel('NOT_FOUND');
        await expect(kept).rejects.toBeInstanceOf(CancelledFailure);
        await sleep(700);
        expect(lastCohereRequest().abandonedAt).toBeUndefined();
        const closedAt = Date.now();
        open = false;
        await waitFor('the provider request to be aborted', () => lastCohereRequest().abandonedAt !== undefined, 3000, 10);
        expect(lastCohereRequest().abandonedAt! - closedAt).toBeLessThan(900);
        expect(lastCohereRequest().answeredAt).toBeUndefined();
      });
    });

    describe('a local activity CANCELLED: the worker dropped its workflow task, or its run was cancelled', () => {
      const localActivities = (runIsOpen: RunIsOpen) =>
        createActivities({
          http: createProviderHttpClient(),
          providers: { ...simulatedProviders(simulator.url), requestTimeoutMs: 5000, maxRetryAfterMs: 60_000 },
          answered: new AnsweredCalls(),
          runIsOpen,
        });
      const local = (activityId = '3') =>
        new MockActivityEnvironment(
          { attempt: 1, isLocal: true, activityId, startToCloseTimeoutMs: 10_000, workflowExecution: { workflowId: 'wf-evicted', runId: 'run-local' } },
          quiet,
        );

      it('of a run still open (its workflow task was dropped, as when the server went down) goes on, and the replayed local activity takes its answer', async () => {
        const activities = localActivities(async () => true);
        const before = providerRequests();
        const slow = step({ provider: 'cohere', prompt: 'Evicted [[sim:latency=800]]' });
        const evictedEnv = local();
        const evicted = callAs(activities, evictedEnv, slow);
        await waitFor('the call to reach the simulator', () => providerRequests() > before, 5000, 20);
        evictedEnv.cancel('CANCELLED');
        await expect(evicted).rejects.toBeInstanceOf(CancelledFailure);
        const replayed = await callAs(activities, local(), slow);
        expect(replayed).toMatchObject({ attempt: 1, provider: 'cohere' });
        expect(providerRequests() - before).toBe(1);
        expect(lastCohereRequest()).toMatchObject({ status: 200, answeredAt: expect.any(Number) });
      });

      it('of a run that has closed (cancelled) aborts the call at once', async () => {
        const activities = localActivities(async () => false);
        const env = local('4');
        const before = providerRequests();
        const cancelled = callAs(activities, env, step({ provider: 'cohere', prompt: 'Cancelled run [[sim:latency=3000]]' }));
        await waitFor('the call to reach the simulator', () => providerRequests() > before, 5000, 20);
        const cancelledAt = Date.now();
        env.cancel('CANCELLED');
        await expect(cancelled).rejects.toBeInstanceOf(CancelledFailure);
        await waitFor('the provider request to be aborted', () => lastCohereRequest().abandonedAt !== undefined, 3000, 10);
        expect(lastCohereRequest().abandonedAt! - cancelledAt).toBeLessThan(900);
        expect(lastCohereRequest().answeredAt).toBeUndefined();
      });

      it('of a run that closes while the call goes on stops the call within a second of the close', async () => {
        let open = true;
        const activities = localActivities(async () => open);
        const env = local('5');
        const before = providerRequests();
        const kept = callAs(activities, env, step({ provider: 'cohere', prompt: 'Cancelled later [[sim:latency=4000]]' }));
        await waitFor('the call to reach the simulator', () => providerRequests() > before, 5000, 20);
        env.cancel('CANCELLED');
        await expect(kept).rejects.toBeInstanceOf(CancelledFailure);
        const closedAt = Date.now();
        open = false;
        await waitFor('the provider request to be aborted', () => lastCohereRequest().abandonedAt !== undefined, 3000, 10);
        expect(lastCohereRequest().abandonedAt! - closedAt).toBeLessThan(1500);
        expect(lastCohereRequest().answeredAt).toBeUndefined();
      });
    });

    it('a failed attempt leaves nothing to reuse: the retry calls the provider', async () => {
      const activities = answeredActivities();
      const before = providerRequests();
      const flaky = step({ provider: 'cohere', prompt: 'Flaky [[sim:cohere:503x1]]' });
      await expect(callAs(activities, attempt(1), flaky)).rejects.toMatchObject({ type: FailureType.ProviderUnavailable });
      await callAs(activities, attempt(2), flaky);
      expect(providerRequests() - before).toBe(2);
    });
  });
});
