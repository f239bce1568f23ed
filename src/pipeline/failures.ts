/**
 * Failure types shared by activities, workflows and the API. Across processes Chorus compares
 * `failure.type` against these strings, never `instanceof`.
 */
export const FailureType = {
  /** 429 from the provider; retried after the delay it asked for (Retry-After, Gemini RetryInfo, OpenAI x-ratelimit-reset-*). */
  ProviderRateLimited: 'ProviderRateLimited',
  /** The account's quota or credit is used up (OpenAI 429 insufficient_quota, Cohere 402, Gemini per-day quota); not retried: it needs someone to act. */
  ProviderQuotaExhausted: 'ProviderQuotaExhausted',
  /** 5xx, 408, 409 or 499 (cancelled before it finished) from the provider; retried. */
  ProviderUnavailable: 'ProviderUnavailable',
  /** The provider did not answer within the request timeout; retried. */
  ProviderTimeout: 'ProviderTimeout',
  /** Connection refused/reset, DNS failure; retried. */
  ProviderNetworkError: 'ProviderNetworkError',
  /** 401/403, or Gemini's 400 API_KEY_INVALID: the key is missing, wrong or lacks permission; not retried. */
  ProviderAuthFailed: 'ProviderAuthFailed',
  /** Any other 4xx: the request itself is wrong; not retried. */
  ProviderRejectedRequest: 'ProviderRejectedRequest',
  /** The provider's safety system blocked the prompt or the answer (Cohere 498 included); not retried (the same input is blocked again). */
  ProviderContentFiltered: 'ProviderContentFiltered',
  /** A 2xx whose body is not the provider's documented shape; retried. */
  ProviderMalformedResponse: 'ProviderMalformedResponse',
  /** The model stopped at its output-token limit (OpenAI `length`, Cohere/Gemini `MAX_TOKENS`); not retried: the same request stops at the same limit. */
  ProviderOutputTruncated: 'ProviderOutputTruncated',
  /** A 2xx that reports the generation itself failed (Cohere `ERROR`/`TIMEOUT`, Gemini `OTHER`); retried. */
  ProviderGenerationFailed: 'ProviderGenerationFailed',
  /** The step asks the model for something it cannot take (an image on a text-only model); not retried, nothing is sent. */
  ModelLacksCapability: 'ModelLacksCapability',
  /** The provider's circuit breaker is open (most of its recent calls failed): the call was not sent, the step's fallback takes over; not retried. */
  ProviderUnhealthy: 'ProviderUnhealthy',
  /** The step names a model its provider's configuration does not allow (a configured instance's `<NAME>_MODELS`); not retried, nothing is sent. */
  ModelNotAllowed: 'ModelNotAllowed',
  /** The step names a provider this worker has no configuration for (an instance the API knows and the worker not); not retried, a fallback may serve. */
  ProviderNotConfigured: 'ProviderNotConfigured',
  /** The model answered, but not in the structure the task asked for; retried. */
  InvalidModelOutput: 'InvalidModelOutput',
  /** A step's provider kept failing transiently for the step's whole retry budget (retry.budget); the message names the last failure when Temporal kept it. */
  RetryBudgetExhausted: 'RetryBudgetExhausted',
  /** An analyze-image step's image is not allowed: scheme, host, size or type; not retried. */
  ImageRejected: 'ImageRejected',
  /** An image URL could not be fetched right now (network error, 5xx); retried. */
  ImageUnavailable: 'ImageUnavailable',
  /** A call's worst case (its estimated input and its output limit, at its model's price) does not fit what is left of the run's budget or its tenant's daily or monthly cap; not sent, not retried. */
  BudgetExceeded: 'BudgetExceeded',
  /** The tenant has a cap and the shared spend ledger (Redis) cannot be reached: the call is not sent; retried. */
  SpendLedgerUnavailable: 'SpendLedgerUnavailable',
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
