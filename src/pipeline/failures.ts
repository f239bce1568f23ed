/**
 * Failure types shared by activities, workflows and the API. Across processes Chorus compares
 * `failure.type` against these strings, never `instanceof`.
 */
export const FailureType = {
  /** 429 from the provider; retried, honouring Retry-After. */
  ProviderRateLimited: 'ProviderRateLimited',
  /** 5xx, 408 or 409 from the provider; retried. */
  ProviderUnavailable: 'ProviderUnavailable',
  /** The provider did not answer within the request timeout; retried. */
  ProviderTimeout: 'ProviderTimeout',
  /** Connection refused/reset, DNS failure; retried. */
  ProviderNetworkError: 'ProviderNetworkError',
  /** 401/403: the key is missing, wrong or lacks permission; not retried. */
  ProviderAuthFailed: 'ProviderAuthFailed',
  /** Any other 4xx: the request itself is wrong; not retried. */
  ProviderRejectedRequest: 'ProviderRejectedRequest',
  /** The provider's safety system blocked the prompt or the answer; not retried (the same input is blocked again). */
  ProviderContentFiltered: 'ProviderContentFiltered',
  /** A 2xx whose body is not the provider's documented shape; retried. */
  ProviderMalformedResponse: 'ProviderMalformedResponse',
  /** The model answered, but not in the structure the task asked for; retried. */
  InvalidModelOutput: 'InvalidModelOutput',
  /** An analyze-image step's image is not allowed: scheme, host, size or type; not retried. */
  ImageRejected: 'ImageRejected',
  /** An image URL could not be fetched right now (network error, 5xx); retried. */
  ImageUnavailable: 'ImageUnavailable',
  /** An approver rejected the run at an approval step (or its timeout did). */
  ApprovalRejected: 'ApprovalRejected',
  /** The callback URL refused the webhook (4xx), is not allowed, or the tenant has no signing secret; not retried. */
  WebhookRejected: 'WebhookRejected',
  /** The callback URL could not take the webhook now (network error, 5xx, 429); retried with backoff. */
  WebhookUnavailable: 'WebhookUnavailable',
  /** Wraps the failure of one pipeline step; the workflow fails with this type. */
  PipelineStepFailed: 'PipelineStepFailed',
  /** The pipeline definition or its input cannot be executed (e.g. a template reads a missing value). */
  InvalidPipeline: 'InvalidPipeline',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];
