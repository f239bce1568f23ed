import nodeHttp = require('node:http');
import nodeHttps = require('node:https');
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, ConsoleSpanExporter, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { ObservabilitySettings } from '../config/observability';

export interface Tracing {
  provider: NodeTracerProvider;
  /** The processor workflow spans go through (they are exported from the worker via a sink). */
  spanProcessor: SpanProcessor;
  resource: Resource;
  shutdown(): Promise<void>;
}

/**
 * Registers a global tracer provider and HTTP instrumentation (incoming API requests, outgoing
 * provider calls) with the given span processor. Call it before the process creates servers or clients.
 */
export function installTracing(serviceName: string, spanProcessor: SpanProcessor): Tracing {
  const resource = new Resource({ 'service.name': serviceName });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  const http = new HttpInstrumentation({
    // Health probes and scrapes would drown the traces that matter.
    ignoreIncomingRequestHook: (request) => /^\/(healthz|readyz|metrics)\b/.test(request.url ?? ''),
  });
  http.setTracerProvider(provider);
  http.enable();
  // The instrumentation patches http/https when they are next required; where require is not Node's
  // own (jest's module registry) that never happens, so patch the loaded modules directly then.
  const loaded: Record<string, unknown> = { http: nodeHttp, https: nodeHttps };
  for (const definition of http.getModuleDefinitions()) {
    const exports = loaded[definition.name] as { request?: { __wrapped?: boolean } } | undefined;
    if (exports && !exports.request?.__wrapped) definition.patch?.(exports);
  }
  return {
    provider,
    spanProcessor,
    resource,
    async shutdown() {
      http.disable();
      await provider.shutdown();
    },
  };
}

/** Tracing as the standard OTEL_* variables ask: off unless OTEL_TRACES_EXPORTER names an exporter. */
export function startTracing(defaultServiceName: string, settings: ObservabilitySettings): Tracing | undefined {
  if (settings.tracesExporter === 'none') return undefined;
  const exporter: SpanExporter =
    settings.tracesExporter === 'console' ? new ConsoleSpanExporter() : new OTLPTraceExporter(settings.otlpTracesUrl ? { url: settings.otlpTracesUrl } : {});
  return installTracing(settings.serviceName ?? defaultServiceName, new BatchSpanProcessor(exporter));
}
