import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import type { NextFunction, Request, Response } from 'express';
import type { LogLevel as TemporalLogLevel, Logger as TemporalLogger } from '@temporalio/common';
import pino from 'pino';
import { ApiMetrics } from '../../api/observability/api-metrics';
import { PinoNestLogger } from '../../api/observability/nest-logger';
import { RequestObserverMiddleware } from '../../api/observability/request-observer.middleware';
import { consoleLineFormat } from '../../launcher/console';
import { PinoTemporalLogger, temporalLoggerAtLeast } from '../../src/observability/logger';

function capture() {
  const lines: Array<{ level: number; msg: string } & Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')));
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

const DEBUG_ONLY = (level: number) => level < 30;

describe('the dev console', () => {
  const jsonLine = JSON.stringify({
    level: 30,
    time: Date.UTC(2026, 11, 1, 20, 40, 36, 840),
    pid: 17949,
    service: 'chorus-worker',
    identity: 'chorus-worker-17949@vm',
    sdkComponent: 'activity',
    taskToken: 'CiQwMWEy',
    workflowId: 'classic-1',
    step: 'draft',
    attempt: 1,
    msg: 'provider call succeeded',
  });

  it("shows a process's JSON log line as one readable line on a terminal, without the fields the prefix says", () => {
    const shown = consoleLineFormat({ isTTY: true, hasColors: () => false })(jsonLine);
    expect(shown).toMatch(/^\[\d{2}:\d{2}:36\.840\] INFO: provider call succeeded \{"workflowId":"classic-1","step":"draft","attempt":1\}$/);
    expect(consoleLineFormat({ isTTY: true, hasColors: () => false })('[temporal] Server:  localhost:7233')).toBe('[temporal] Server:  localhost:7233');
  });

  it('keeps the JSON lines as they are when the output is not a terminal', () => {
    expect(consoleLineFormat({ isTTY: false, hasColors: () => false })(jsonLine)).toBe(jsonLine);
  });

  it("logs the Temporal Worker's lifecycle and its expected activity-only notice at debug, and keeps its failures and the activities' lines", () => {
    const { lines, logger } = capture();
    const temporalLogger = new PinoTemporalLogger(logger.child({}, { level: 'debug' }));
    temporalLogger.info('Worker state changed', { sdkComponent: 'worker', taskQueue: 'chorus-pipelines', state: 'RUNNING' });
    temporalLogger.info('No Nexus services registered, not polling for Nexus tasks', { sdkComponent: 'worker' });
    temporalLogger.warn('No workflows registered, not polling for workflow tasks', { sdkComponent: 'worker', taskQueue: 'chorus-pipelines-openai' });
    temporalLogger.error('Worker failed', { sdkComponent: 'worker' });
    temporalLogger.warn('Failed to encode heartbeat details, cancelling Activity', { sdkComponent: 'worker' });
    temporalLogger.info('provider call succeeded', { sdkComponent: 'activity', activityId: 'draft' });
    expect(lines.map(({ level, msg }) => [level, msg])).toEqual([
      [20, 'Worker state changed'],
      [20, 'No Nexus services registered, not polling for Nexus tasks'],
      [20, 'No workflows registered, not polling for workflow tasks'],
      [50, 'Worker failed'],
      [40, 'Failed to encode heartbeat details, cancelling Activity'],
      [30, 'provider call succeeded'],
    ]);
  });

  it("passes only the bundler's warnings and errors on, not webpack's statistics", () => {
    const seen: Array<[TemporalLogLevel, string]> = [];
    const sink: TemporalLogger = {
      log: (level, message) => seen.push([level, message]),
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: () => undefined,
    };
    const bundlerLogger = temporalLoggerAtLeast('WARN', sink);
    bundlerLogger.info('asset workflow-bundle-11cf.js 1.68 MiB [emitted]');
    bundlerLogger.info('Workflow bundle created', { size: '1.68MB' });
    bundlerLogger.debug('resolving');
    bundlerLogger.warn('module not found: fs');
    bundlerLogger.error('webpack failed');
    expect(seen).toEqual([
      ['WARN', 'module not found: fs'],
      ['ERROR', 'webpack failed'],
    ]);
  });

  it("logs Nest's bootstrap narrative (modules, mapped routes) at debug and its warnings and errors at their level", () => {
    const { lines, logger } = capture();
    const nest = new PinoNestLogger(logger.child({}, { level: 'debug' }));
    nest.log('Mapped {/v1/workflows, POST} route', 'RouterExplorer');
    nest.log('Nest application successfully started', 'NestApplication');
    nest.warn('deprecated option', 'NestFactory');
    nest.error('Temporal request failed', 'trace', 'TemporalExceptionFilter');
    expect(lines.map(({ level, context }) => [level, context])).toEqual([
      [20, 'RouterExplorer'],
      [20, 'NestApplication'],
      [40, 'NestFactory'],
      [50, 'TemporalExceptionFilter'],
    ]);
    expect(lines.filter(({ level }) => DEBUG_ONLY(level))).toHaveLength(2);
  });

  it('logs answered health, readiness and metrics probes at debug, failed ones and every other request as before', () => {
    const { lines, logger } = capture();
    const observer = new RequestObserverMiddleware(new ApiMetrics(), logger.child({}, { level: 'debug' }));
    const answer = (path: string, status: number) => {
      const response = Object.assign(new EventEmitter(), { statusCode: status, setHeader: () => undefined });
      const request = { method: 'GET', route: { path }, originalUrl: path, header: () => undefined };
      observer.use(request as unknown as Request, response as unknown as Response, (() => undefined) as NextFunction);
      response.emit('finish');
    };
    answer('/healthz', 200);
    answer('/readyz', 200);
    answer('/metrics', 200);
    answer('/readyz', 503);
    answer('/v1/workflows', 202);
    expect(lines.map(({ level, route }) => [level, route])).toEqual([
      [20, '/healthz'],
      [20, '/readyz'],
      [20, '/metrics'],
      [50, '/readyz'],
      [30, '/v1/workflows'],
    ]);
  });
});
