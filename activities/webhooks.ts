import { createHmac } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { isAxiosError, type AxiosInstance } from 'axios';
import { webhookSecretKey, type WebhookSettings } from '../src/config/webhooks';
import { FailureType } from '../src/pipeline/failures';
import { guardedRequest } from './outbound-url';

export interface WebhookDelivery {
  url: string;
  tenant: string;
  /** The `webhook-id`: the same on every retry of this delivery, so receivers deduplicate on it: `<workflowId>/<runId>`. */
  deliveryId: string;
  body: unknown;
}

/**
 * The Standard Webhooks `webhook-signature` value: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<raw body>">` per
 * secret, space-separated, so a receiver holding any one of the tenant's secrets verifies it.
 */
export function signWebhook(secrets: readonly string[], deliveryId: string, timestampSeconds: number, rawBody: string): string {
  return secrets
    .map((secret) => {
      const key = webhookSecretKey(secret);
      if (!key) throw new TypeError('a webhook secret is whsec_ followed by the base64 of 24-64 bytes');
      return `v1,${createHmac('sha256', key).update(`${deliveryId}.${timestampSeconds}.${rawBody}`).digest('base64')}`;
    })
    .join(' ');
}

const rejected = (message: string) => ApplicationFailure.create({ type: FailureType.WebhookRejected, message, nonRetryable: true });

/** POSTs a run's outcome to its callback URL, signed; Temporal retries it with backoff. */
export function createDeliverWebhook({ http, webhooks, clock = Date.now }: { http: AxiosInstance; webhooks: WebhookSettings; clock?: () => number }) {
  return async function deliverWebhook({ url: target, tenant, deliveryId, body }: WebhookDelivery): Promise<{ status: number; attempt: number }> {
    const secrets = webhooks.secrets[tenant];
    if (!secrets?.length) throw rejected(`tenant "${tenant}" has no webhook signing secret (CHORUS_WEBHOOK_SECRETS)`);
    const { url, config } = guardedRequest(target, webhooks, (reason) => rejected(`callback ${reason}`));
    const rawBody = JSON.stringify(body);
    // Signed per attempt: the timestamp says when this attempt was sent; the ID stays the delivery's.
    const timestamp = Math.floor(clock() / 1000);
    const signature = signWebhook(secrets, deliveryId, timestamp, rawBody);
    try {
      const response = await http.post(url.toString(), rawBody, {
        ...config,
        headers: {
          'content-type': 'application/json',
          'webhook-id': deliveryId,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signature,
        },
        timeout: webhooks.timeoutMs,
        maxRedirects: 0,
        signal: Context.current().cancellationSignal,
      });
      return { status: response.status, attempt: Context.current().info.attempt };
    } catch (error) {
      if (error instanceof ApplicationFailure) throw error;
      const cause = isAxiosError(error) ? error.cause : undefined;
      if (cause instanceof ApplicationFailure) throw cause;
      const status = isAxiosError(error) ? error.response?.status : undefined;
      if (status !== undefined && status >= 300 && status < 500 && status !== 408 && status !== 429) throw rejected(`the callback URL answered HTTP ${status}`);
      throw ApplicationFailure.create({
        type: FailureType.WebhookUnavailable,
        message: `the callback URL could not take the webhook: ${status ? `HTTP ${status}` : (error as Error).message}`,
      });
    }
  };
}
