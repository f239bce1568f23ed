import { isCancellation, proxyActivities, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { ChorusActivities } from '../activities';
import type { RunState } from './run-state';
import { failureInfo } from './step-failure';

/** A receiver that is down gets retries with backoff for about 10 minutes. */
const WEBHOOK_ACTIVITY: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 10, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '2m' },
};

/** Tells the run's callback URL how it ended. A webhook that cannot be delivered never changes the run's outcome. */
export async function notifyWebhook(run: RunState, event: 'run.completed' | 'run.failed', outcome: Record<string, unknown>): Promise<void> {
  const { webhook } = run;
  const { tenant, pipeline } = run.run;
  if (!webhook || !tenant) return;
  const { workflowId, runId } = workflowInfo();
  const { deliverWebhook } = proxyActivities<ChorusActivities>(WEBHOOK_ACTIVITY);
  webhook.status = 'delivering';
  try {
    const body = { event, workflowId, runId, pipeline: pipeline.name, ...outcome };
    const delivered = await deliverWebhook({ url: webhook.url, tenant, deliveryId: `${workflowId}/${runId}`, body });
    Object.assign(webhook, { status: 'delivered', attempts: delivered.attempt, deliveredAt: new Date().toISOString() });
  } catch (error) {
    if (isCancellation(error)) throw error;
    Object.assign(webhook, { status: 'failed', error: failureInfo(error) });
  }
}
