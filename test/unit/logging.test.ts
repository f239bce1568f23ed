import { Writable } from 'node:stream';
import pino from 'pino';
import { PinoTemporalLogger, REDACTED_PATHS } from '../../src/observability/logger';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')));
      done();
    },
  });
  return { lines, logger: pino({ level: 'info', redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' } }, stream) };
}

describe('structured logs', () => {
  it('redacts provider keys, API keys and authorization headers', () => {
    const { lines, logger } = capture();
    logger.info({ headers: { 'x-api-key': 'chorus_secret', authorization: 'Bearer sk-live', accept: 'json' } }, 'request');
    logger.info({ request: { headers: { authorization: 'Bearer sk-live', 'x-goog-api-key': 'AIza' } } }, 'provider call');
    logger.info({ providers: { endpoints: { openai: { apiKey: 'sk-live', baseUrl: 'https://api.openai.com/v1' } } } }, 'settings');
    logger.info({ OPENAI_API_KEY: 'sk-live' }, 'env');
    const text = JSON.stringify(lines);
    expect(text).not.toMatch(/chorus_secret|sk-live|AIza/);
    expect(lines[0].headers).toEqual({ 'x-api-key': '[REDACTED]', authorization: '[REDACTED]', accept: 'json' });
    expect((lines[2] as { providers: { endpoints: { openai: { baseUrl: string } } } }).providers.endpoints.openai.baseUrl).toBe('https://api.openai.com/v1');
  });

  it("names Temporal's activity info workflowId, runId, step and attempt on every activity line", () => {
    const { lines, logger } = capture();
    new PinoTemporalLogger(logger).warn('provider call failed', {
      sdkComponent: 'activity',
      workflowId: 'classic-1',
      workflowRunId: 'run-1',
      activityId: 'draft',
      activityType: 'callProvider',
      attempt: 2,
      provider: 'openai',
    });
    expect(lines[0]).toMatchObject({
      level: 40,
      msg: 'provider call failed',
      workflowId: 'classic-1',
      runId: 'run-1',
      step: 'draft',
      attempt: 2,
      provider: 'openai',
    });
  });
});
