import { loadWebhookSettings, type WebhookSettings } from '../src/config/webhooks';
import { createCallProvider, type ActivityDeps as ProviderCallDeps } from './call-provider';
import { createDeliverWebhook } from './webhooks';

export interface ActivityDeps extends ProviderCallDeps {
  /** Signing secrets and URL rules of webhooks. @default none: https only, no tenant can use callbackUrl */
  webhooks?: WebhookSettings;
}

/** All Chorus activities, built from their dependencies so tests can inject fakes without module mocks. */
export function createActivities(deps: ActivityDeps) {
  return {
    callProvider: createCallProvider(deps),
    deliverWebhook: createDeliverWebhook({ http: deps.http, webhooks: deps.webhooks ?? loadWebhookSettings({}), clock: deps.clock }),
  };
}

export type ChorusActivities = ReturnType<typeof createActivities>;
export type { ProviderStepInput } from './call-provider';
export type { WebhookDelivery } from './webhooks';
