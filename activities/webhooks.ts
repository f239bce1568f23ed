import { createHmac } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { isAxiosError, type AxiosInstance } from 'axios';
import type { WebhookSettings } from '../src/config/webhooks';
import { FailureType } from '../src/pipeline/failures';
import { guardedRequest } from './outbound-url';

export interface WebhookDelivery {
  url: string;
  tenant: string;
  /** `run.completed` or `run.failed`. */
  event: string;
  /** Identifies the delivery to the receiver (idempotency on its side): `<workflowId>/<runId>`. */
  deliveryId: string;
  body: unknown;
}

/**
 * The signature header value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`.
 * Receivers recompute it with the tenant's secret and reject stale timestamps (replays).
 */
export function signWebhook(secret: string, timestampSeconds: number, rawBody: string): string {
  return `t=${timestampSeconds},v1=${createHmac('sha256', secret).update(`${timestampSeconds}.${rawBody}`).digest('hex')}`;
}

const rejected = (message: string) => ApplicationFailure.create({ type: FailureType.WebhookRejected, message, nonRetryable: true });

/** POSTs a run's outcome to its callback URL, signed; Temporal retries it with backoff. */
export function createDeliverWebhook({ http, webhooks, clock = Date.now }: { http: AxiosInstance; webhooks: WebhookSettings; clock?: () => number }) {
  return async function deliverWebhook({ url: target, tenant, event, deliveryId, body }: WebhookDelivery): Promise<{ status: number; attempt: number }> {
    const secret = webhooks.secrets[tenant];
    if (!secret) throw rejected(`tenant "${tenant}" has no webhook signing secret (CHORUS_WEBHOOK_SECRETS)`);
    const { url, config } = guardedRequest(target, webhooks, (reason) => rejected(`callback ${reason}`));
    const rawBody = JSON.stringify(body);
    // Signed per attempt: the timestamp says when this attempt was sent.
    const signature = signWebhook(secret, Math.floor(clock() / 1000), rawBody);
    try {
      const response = await http.post(url.toString(), rawBody, {
        ...config,
        headers: { 'content-type': 'application/json', 'chorus-signature': signature, 'chorus-event': event, 'chorus-delivery': deliveryId },
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
