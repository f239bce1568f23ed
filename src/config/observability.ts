import { z } from 'zod';
import { parseEnv, type Env } from './env';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ObservabilitySettings {
  /** @default info */
  logLevel: LogLevel;
  /** Standard OTEL_TRACES_EXPORTER: tracing is off unless it names an exporter. */
  tracesExporter: 'otlp' | 'console' | 'none';
  /** OTLP/HTTP traces endpoint (from OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces). */
  otlpTracesUrl?: string;
  /** OTEL_SERVICE_NAME; each process has its own default. */
  serviceName?: string;
}

export function loadObservabilitySettings(env: Env = process.env): ObservabilitySettings {
  const vars = parseEnv(
    {
      CHORUS_LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
      OTEL_TRACES_EXPORTER: z.enum(['otlp', 'console', 'none']).default('none'),
      OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
      OTEL_SERVICE_NAME: z.string().optional(),
    },
    env,
  );
  const base = vars.OTEL_EXPORTER_OTLP_ENDPOINT?.replace(/\/$/, '');
  return {
    logLevel: vars.CHORUS_LOG_LEVEL,
    tracesExporter: vars.OTEL_TRACES_EXPORTER,
    otlpTracesUrl: vars.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base ? `${base}/v1/traces` : undefined),
    serviceName: vars.OTEL_SERVICE_NAME,
  };
}
