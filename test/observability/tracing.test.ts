import type { INestApplication } from '@nestjs/common';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Runtime } from '@temporalio/worker';
import type request from 'supertest';
import { installTracing, type Tracing } from '../../src/observability/tracing';
import { startSimulator, type RunningSimulator } from '../../simulator/server';
import { createChorusWorker, TRACING_WORKFLOW_INTERCEPTORS, WORKFLOWS_PATH, type ChorusWorker } from '../../worker/worker';
import { startApiApp, TEST_API_KEY } from '../helpers/api-app';
import { waitFor } from '../helpers/reliability';
import { simulatedProviders, testTemporalSettings } from '../helpers/stack';

/** One pipeline run is one trace: API request → StartWorkflow → RunWorkflow → StartActivity → RunActivity → provider HTTP call. */
describe('tracing', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let simulator: RunningSimulator;
  let nativeConnection: NativeConnection;
  let connection: Connection;
  let worker: ChorusWorker;
  let workerRun: Promise<void>;
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  const temporal = testTemporalSettings('tracing');

  beforeAll(async () => {
    tracing = installTracing('chorus-test', new SimpleSpanProcessor(exporter));
    simulator = await startSimulator({ latencyMs: 5 });
    nativeConnection = await NativeConnection.connect({ address: temporal.address });
    const workflowBundle = await bundleWorkflowCode({
      workflowsPath: WORKFLOWS_PATH,
      workflowInterceptorModules: [TRACING_WORKFLOW_INTERCEPTORS],
      logger: Runtime.instance().logger,
    });
    ({ worker } = await createChorusWorker({
      temporal,
      providers: simulatedProviders(simulator.url),
      worker: { maxConcurrentActivities: 10, maxConcurrentWorkflowTasks: 10, shutdownGraceMs: 1000 },
      workflowBundle,
      connection: nativeConnection,
      tracing,
    }));
    workerRun = worker.run();
    connection = await Connection.connect({ address: temporal.address });
    ({ app, http } = await startApiApp(temporal));
  });
  afterAll(async () => {
    await app?.close();
    worker?.shutdown();
    await workerRun;
    await Promise.all([connection?.close(), nativeConnection?.close(), simulator?.close()]);
    await tracing?.shutdown();
  });

  it('connects the spans of a run in one trace, down to each provider HTTP call', async () => {
    const started = await http
      .post('/v1/workflows')
      .set('x-api-key', TEST_API_KEY)
      .send({ pipeline: 'classic', input: { prompt: 'Trace me' } })
      .expect(202);
    await new Client({ connection }).workflow.getHandle(started.body.workflowId).result();
    const spans = () => exporter.getFinishedSpans();
    const isProviderCall = (span: ReadableSpan) => span.kind === SpanKind.CLIENT && String(span.attributes['http.url'] ?? '').startsWith(simulator.url);
    // Workflow spans reach the exporter through a sink, a moment after the run closes.
    await waitFor('the run spans', () => spans().filter(isProviderCall).length >= 3 && spans().some((span) => span.name.startsWith('RunWorkflow')), 10_000);

    const request = spans().find((span) => span.kind === SpanKind.SERVER && span.attributes['http.target'] === '/v1/workflows');
    expect(request).toBeDefined();
    const traceId = request!.spanContext().traceId;
    const inTrace = spans().filter((span) => span.spanContext().traceId === traceId);
    const byId = new Map(inTrace.map((span) => [span.spanContext().spanId, span]));
    const chainOf = (span: ReadableSpan): string[] => {
      const parent = span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
      const label =
        span === request ? 'API request' : isProviderCall(span) ? 'provider HTTP' : span.kind === SpanKind.CLIENT ? 'test client' : span.name.split(':')[0];
      return [...(parent ? chainOf(parent) : []), label];
    };
    const providerCalls = inTrace.filter(isProviderCall);
    console.log(`tracing: ${inTrace.length} spans in trace ${traceId}; provider call ancestry: ${chainOf(providerCalls[0]).join(' → ')}`);

    expect(providerCalls).toHaveLength(3);
    for (const call of providerCalls) {
      // supertest's own request is in this process too, so it is the trace's root.
      expect(chainOf(call)).toEqual(['test client', 'API request', 'StartWorkflow', 'RunWorkflow', 'StartActivity', 'RunActivity', 'provider HTTP']);
    }
    // Every span of the run is in this one trace.
    const runSpans = spans().filter((span) => /^(StartWorkflow|RunWorkflow|StartActivity|RunActivity)/.test(span.name));
    expect(runSpans.every((span) => span.spanContext().traceId === traceId)).toBe(true);
    expect(runSpans.filter((span) => span.name.startsWith('RunActivity'))).toHaveLength(3);
  });
});
