import type { WorkflowClientInterceptor } from '@temporalio/client';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { PipelineRunInput } from '../../src/pipeline/types';

/** Every metric name the API exports itself (prom-client's process/nodejs defaults aside). */
export const API_METRIC_NAMES = ['chorus_api_requests_total', 'chorus_api_request_duration_seconds', 'chorus_runs_started_total'] as const;

/**
 * The `pipeline` label of runs started from an inline definition: its name is the client's choice,
 * and one label value per name would let clients grow the series without bound. Parentheses cannot
 * occur in a pipeline name, so no named pipeline shares it.
 */
export const ADHOC_PIPELINE_LABEL = '(adhoc)';

/** The API's Prometheus metrics, on a registry of its own (several apps can live in one test process). */
export class ApiMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'chorus_api_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'chorus_api_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly runsStarted = new Counter({
    name: 'chorus_runs_started_total',
    help: 'Pipeline runs started, by named pipeline ("(adhoc)" for inline definitions)',
    labelNames: ['pipeline'],
    registers: [this.registry],
  });

  /** @param isNamedPipeline whether a pipeline name is one of the named pipelines (the rest count as ad hoc) */
  constructor(private readonly isNamedPipeline: (name: string) => boolean = () => true) {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Counts runs Temporal really started (an idempotent replay or a duplicate ID starts nothing). */
  runsStartedInterceptor(): WorkflowClientInterceptor {
    return {
      startWithDetails: async (input, next) => {
        const output = await next(input);
        const name = (input.options.args?.[0] as Partial<PipelineRunInput> | undefined)?.pipeline?.name;
        this.runsStarted.inc({ pipeline: name === undefined ? input.workflowType : this.isNamedPipeline(name) ? name : ADHOC_PIPELINE_LABEL });
        return output;
      },
    };
  }
}
