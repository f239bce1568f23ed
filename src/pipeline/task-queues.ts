import { PROVIDER_NAMES, type ProviderName } from './providers';

/**
 * Provider calls run on one task queue per provider, next to the workflows' queue, so one
 * provider's outage or throttling backs up only its own queue. Pure: the workflow computes the
 * queue of each call with it, the worker the queues it polls.
 */
export function providerTaskQueue(workflowTaskQueue: string, provider: ProviderName): string {
  return `${workflowTaskQueue}-${provider}`;
}

/** What a worker process can serve: the workflows' queue, or one provider's activity queue. */
export type QueueRole = 'workflows' | ProviderName;
/** The roles of the built-in providers; a deployment adds one per configured instance (queueRoles). */
export const QUEUE_ROLES: readonly QueueRole[] = ['workflows', ...PROVIDER_NAMES];

/** Every role of a deployment whose providers are these. */
export function queueRoles(providers: readonly ProviderName[]): QueueRole[] {
  return ['workflows', ...providers];
}

/** The Temporal task queue behind a role. */
export function taskQueueOf(workflowTaskQueue: string, role: QueueRole): string {
  return role === 'workflows' ? workflowTaskQueue : providerTaskQueue(workflowTaskQueue, role);
}
