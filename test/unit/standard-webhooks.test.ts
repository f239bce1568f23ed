import { randomBytes } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { AxiosInstance } from 'axios';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { createDeliverWebhook, signWebhook } from '../../activities/webhooks';
import { loadWebhookSettings, webhookSecretKey } from '../../src/config/webhooks';

const newSecret = (bytes = 32) => `whsec_${randomBytes(bytes).toString('base64')}`;

/** Chorus's webhook deliveries as the Standard Webhooks reference library receives them. */
describe('Standard Webhooks signatures', () => {
  const secret = newSecret();
  const body = JSON.stringify({ event: 'run.completed', workflowId: 'classic-1', runId: 'r1', status: 'COMPLETED' });
  const nowSeconds = () => Math.floor(Date.now() / 1000);
  const headers = (signature: string, id = 'classic-1/r1', timestamp = nowSeconds()) => ({
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signature,
  });

  it('signs "id.timestamp.body" so that the library verifies it and returns the payload', () => {
    const timestamp = nowSeconds();
    const signature = signWebhook([secret], 'classic-1/r1', timestamp, body);
    expect(signature).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(signature).toBe(new Webhook(secret).sign('classic-1/r1', new Date(timestamp * 1000), body));
    expect(new Webhook(secret).verify(body, headers(signature, 'classic-1/r1', timestamp))).toEqual(JSON.parse(body));
  });

  it('fails verification for another secret, a changed body, a changed id and a stale timestamp', () => {
    const timestamp = nowSeconds();
    const signature = signWebhook([secret], 'classic-1/r1', timestamp, body);
    expect(() => new Webhook(newSecret()).verify(body, headers(signature))).toThrow(WebhookVerificationError);
    expect(() => new Webhook(secret).verify(body.replace('COMPLETED', 'FAILED'), headers(signature))).toThrow('No matching signature');
    expect(() => new Webhook(secret).verify(body, headers(signature, 'classic-1/r2'))).toThrow('No matching signature');
    const stale = timestamp - 600;
    expect(() => new Webhook(secret).verify(body, headers(signWebhook([secret], 'classic-1/r1', stale, body), 'classic-1/r1', stale))).toThrow('too old');
  });

  it('signs with every secret of a tenant, so a receiver holding either the new or the old one verifies (rotation)', () => {
    const [current, previous] = [newSecret(), newSecret(24)];
    const signature = signWebhook([current, previous], 'classic-1/r1', nowSeconds(), body);
    expect(signature.split(' ')).toHaveLength(2);
    expect(new Webhook(current).verify(body, headers(signature))).toEqual(JSON.parse(body));
    expect(new Webhook(previous).verify(body, headers(signature))).toEqual(JSON.parse(body));
  });

  it('sends the three headers on every attempt, with the same webhook-id and a fresh timestamp', async () => {
    const sent: { url: string; body: string; headers: Record<string, string> }[] = [];
    const http = {
      post: async (url: string, data: string, config: { headers: Record<string, string> }) => (
        sent.push({ url, body: data, headers: config.headers }),
        { status: 204 }
      ),
    };
    let clock = Date.now() - 120_000;
    const deliver = createDeliverWebhook({
      http: http as unknown as AxiosInstance,
      webhooks: { secrets: { acme: [secret] }, allowHttp: true, allowPrivateHosts: true, timeoutMs: 1000 },
      clock: () => clock,
    });
    const delivery = { url: 'http://127.0.0.1:9/hook', tenant: 'acme', deliveryId: 'classic-1/r1', body: JSON.parse(body) };
    for (const attempt of [1, 2]) {
      const environment = new MockActivityEnvironment({ attempt }, { logger: new DefaultLogger('ERROR') });
      expect(await environment.run(deliver, delivery)).toEqual({ status: 204, attempt });
      clock += 60_000;
    }
    expect(sent).toHaveLength(2);
    expect(sent.map((request) => request.headers['webhook-id'])).toEqual(['classic-1/r1', 'classic-1/r1']);
    expect(Number(sent[1].headers['webhook-timestamp']) - Number(sent[0].headers['webhook-timestamp'])).toBe(60);
    for (const request of sent) expect(new Webhook(secret).verify(request.body, request.headers)).toEqual(JSON.parse(body));
    expect(Object.keys(sent[0].headers).sort()).toEqual(['content-type', 'webhook-id', 'webhook-signature', 'webhook-timestamp']);
  });
});

describe('webhook secrets (CHORUS_WEBHOOK_SECRETS)', () => {
  it('takes a whsec_ secret, or a list of them newest first, per tenant', () => {
    const [a, b] = [newSecret(), newSecret(64)];
    expect(loadWebhookSettings({ CHORUS_WEBHOOK_SECRETS: JSON.stringify({ acme: a, beta: [a, b] }) }).secrets).toEqual({ acme: [a], beta: [a, b] });
    expect(webhookSecretKey(a)).toHaveLength(32);
  });

  it.each([
    ['no whsec_ prefix', randomBytes(32).toString('base64')],
    ['not base64', 'whsec_not*base64*at*all*0123456789abcdef'],
    ['a key under 24 bytes', newSecret(16)],
    ['a key over 64 bytes', newSecret(65)],
    ['an empty list', []],
  ])('rejects %s, naming the variable and the format', (_what, secret) => {
    expect(() => loadWebhookSettings({ CHORUS_WEBHOOK_SECRETS: JSON.stringify({ acme: secret }) })).toThrow(
      /CHORUS_WEBHOOK_SECRETS: expected JSON \{"tenant": "whsec_/,
    );
  });
});
