import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** Every metric name the API exports itself (prom-client's process/nodejs defaults aside); runs are counted by the worker. */
export const API_METRIC_NAMES = ['chorus_api_requests_total', 'chorus_api_request_duration_seconds'] as const;

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

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
