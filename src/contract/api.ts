/**
 * What the REST API answers, in one place: each answer is a zod schema here, its TypeScript type is
 * inferred from it (the API builds these shapes, the CLI reads them), and the OpenAPI document's
 * component schemas are generated from the same schemas (`contractJsonSchemas`), so the three cannot drift.
 */
import { z } from 'zod';

/** Registry of the schemas the OpenAPI document names under `components.schemas`. */
const contract = z.registry<{ id: string; description?: string }>();
const named = <T extends z.ZodType>(id: string, schema: T, description?: string): T => {
  contract.add(schema, { id, ...(description ? { description } : {}) });
  return schema;
};

export const RUN_STATUSES = ['RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT', 'CONTINUED_AS_NEW'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const RESET_POINTS = ['failed-step', 'first-workflow-task', 'last-workflow-task', 'event'] as const;
export type ResetPoint = (typeof RESET_POINTS)[number];

/** A workflow ID Temporal can store: 1-255 characters, no NUL (api/validation.ts also refuses lone surrogates). */
export const WORKFLOW_ID_PATTERN = /^[^\u0000]{1,255}$/u;

const isoTime = () => z.string().meta({ format: 'date-time', examples: ['2026-12-01T10:02:11.204Z'] });

export const FieldProblemSchema = named(
  'FieldProblem',
  z.object({
    field: z.string().meta({ description: 'The rejected field: a body path (`input.prompt`, `$.steps[0].prompt`), a query parameter or a header.' }),
    reason: z.string(),
  }),
  'One rejected field and why.',
);
/** Every 400 lists each rejected field and why: `{ errors: [{ field, reason }] }`. */
export type FieldProblem = z.infer<typeof FieldProblemSchema>;

export const ProblemSchema = named(
  'Problem',
  z
    .object({
      type: z.string().meta({ description: 'URI naming the kind of problem (`urn:chorus:problem:<kind>`).', examples: ['urn:chorus:problem:invalid-request'] }),
      title: z.string().meta({ description: 'Short summary of the kind of problem; the same for every occurrence.' }),
      status: z.int().min(400).max(599),
      detail: z.string().meta({ description: 'What went wrong in this occurrence.' }),
      instance: z.string().meta({ description: 'The request path this problem occurred at.' }),
      errors: z.array(FieldProblemSchema).optional().meta({ description: 'Each rejected field and why (400 and 413).' }),
      message: z.string().meta({ description: 'The same as `detail`, for clients of the earlier error shape.', deprecated: true }),
    })
    .meta({
      examples: [
        {
          type: 'urn:chorus:problem:invalid-request',
          title: 'Invalid request',
          status: 400,
          detail: 'input.prompt: required by pipeline "classic"',
          instance: '/v1/workflows',
          errors: [{ field: 'input.prompt', reason: 'required by pipeline "classic"' }],
        },
      ],
    }),
  'An RFC 9457 problem details document (`application/problem+json`).',
);
export type Problem = z.infer<typeof ProblemSchema>;

const StepFailureInfoSchema = named('StepFailure', z.object({ type: z.string().meta({ examples: ['ProviderRateLimited'] }), message: z.string() }));

const CostAndTokens = z.object({ costUsd: z.number(), tokens: z.int() });
const BudgetLimitsSchema = z.object({ maxCostUsd: z.number().optional(), maxTokens: z.int().optional() });
const BudgetStatusSchema = named(
  'BudgetStatus',
  z.object({
    limits: BudgetLimitsSchema,
    spent: CostAndTokens,
    reserved: CostAndTokens.meta({ description: 'Held by calls in flight: their worst case until they answer.' }),
    remaining: z.object({ costUsd: z.number().optional(), tokens: z.int().optional() }),
    pendingApproval: z
      .object({
        step: z.string(),
        call: z.string().meta({ description: "The refused call's ID: the step's, or a map element's (`each[7]`)." }),
        dimension: z.enum(['costUsd', 'tokens']).meta({ description: "The limit the call's worst case exceeded." }),
        needed: CostAndTokens.meta({ description: "The call's worst case, what it reserves once it fits." }),
        limitsToFit: BudgetLimitsSchema.meta({ description: 'The smallest limits under which the call fits: spent and reserved now, plus its worst case.' }),
        requestedAt: z.string(),
        timeoutAt: z.string().nullable().meta({ description: 'When the approval timeout fails the step BudgetExceeded; null: no timeout.' }),
      })
      .optional()
      .meta({
        description:
          'A call did not fit and the pipeline says onExceeded: await-approval: the run waits for POST /v1/workflows/{id}/approve with a raised budget (or /reject).',
      }),
    approvals: z
      .array(
        z.object({
          step: z.string(),
          call: z.string(),
          decision: z.enum(['approved', 'rejected']),
          by: z.string().nullable().meta({ description: 'Who decided; null when the approval timeout did.' }),
          comment: z.string().nullable(),
          decidedAt: z.string(),
          from: BudgetLimitsSchema,
          to: BudgetLimitsSchema,
        }),
      )
      .optional()
      .meta({ description: 'Budget approvals decided so far, oldest first: the limits before and after each.' }),
  }),
);

const StepProgressSchema = named(
  'StepProgress',
  z.object({
    id: z.string(),
    provider: z.string().meta({ description: 'The provider(s) the step calls: a provider name, `mixed`, or `human` for an approval.' }),
    status: z.enum(['pending', 'running', 'waiting', 'done', 'failed', 'cancelled', 'skipped']),
    attempts: z.int().optional(),
    items: z.object({ done: z.int(), total: z.int(), notRun: z.int().optional() }).optional(),
    approval: z.object({ prompt: z.string().nullable(), timeoutAt: z.string().nullable() }).optional(),
    error: StepFailureInfoSchema.optional(),
  }),
);

const StepViewSchema = named(
  'StepView',
  StepProgressSchema.extend({ lastError: StepFailureInfoSchema.optional().meta({ description: 'Last failure of a step that is still being retried.' }) }),
);
/** One step as the API shows it: the workflow's progress plus live attempt data for a running step. */
export type StepView = z.infer<typeof StepViewSchema>;

const TokenUsageSchema = z.object({ inputTokens: z.int(), outputTokens: z.int(), thinkingTokens: z.int().optional() });

const StepResultSchema = named(
  'StepResult',
  z.object({
    provider: z.string(),
    model: z.string(),
    text: z.string(),
    data: z.unknown().optional(),
    usage: TokenUsageSchema,
    usageUnknown: z.boolean().optional(),
    billedUsage: TokenUsageSchema.optional(),
    costUsd: z.number().nullable(),
    latencyMs: z.number(),
    simulated: z.boolean(),
    attempt: z.int(),
    fallbackFrom: z.object({ provider: z.string(), error: StepFailureInfoSchema }).optional(),
    truncated: z.literal(true).optional().meta({ description: 'The answer stopped at the output-token limit and the step allows that (allowTruncated).' }),
    cached: z
      .literal(true)
      .optional()
      .meta({ description: "An identical earlier call's answer from the response cache: its usage is that call's, costUsd 0." }),
  }),
  "One provider call's answer.",
);

const ApprovalOutcomeSchema = named(
  'ApprovalOutcome',
  z.object({
    decision: z.enum(['approved', 'rejected']),
    comment: z.string().nullable(),
    by: z.string().nullable(),
    decidedAt: isoTime(),
    timedOut: z.boolean(),
  }),
);

const StepOutputSchema = z.union([
  StepResultSchema,
  z.object({ items: z.array(StepResultSchema), texts: z.array(z.string()), data: z.array(z.unknown()) }),
  ApprovalOutcomeSchema,
]);

const WebhookStateSchema = named(
  'WebhookState',
  z.object({
    url: z.string(),
    status: z.enum(['pending', 'delivering', 'delivered', 'failed']),
    attempts: z.int().optional(),
    deliveredAt: isoTime().optional(),
    error: StepFailureInfoSchema.optional(),
  }),
);

const PipelineResultSchema = named(
  'PipelineResult',
  z.object({
    pipeline: z.string(),
    output: z.record(z.string(), z.unknown()),
    steps: z.record(z.string(), StepOutputSchema),
    progress: z.array(StepProgressSchema),
    usage: z.object({
      steps: z.array(
        TokenUsageSchema.extend({
          step: z.string(),
          provider: z.string(),
          model: z.string(),
          latencyMs: z.number(),
          attempts: z.int(),
          costUsd: z.number().nullable(),
          simulated: z.boolean(),
        }),
      ),
      total: TokenUsageSchema.extend({ costUsd: z.number(), latencyMs: z.number(), calls: z.int() }),
      costIncomplete: z.boolean(),
    }),
    webhook: WebhookStateSchema.optional(),
    budget: BudgetStatusSchema.optional(),
  }),
  "A completed run's result: its output, each step's answer, progress and usage.",
);

const RunRefSchema = z.object({ workflowId: z.string(), runId: z.string() });

export const RunSummarySchema = named(
  'RunSummary',
  z.object({
    workflowId: z.string().meta({ examples: ['classic-0b9c4f5e-8d1a-4c47-9f2e-6f1f3c7a2b10'] }),
    runId: z.string(),
    pipeline: z.string().nullable(),
    status: z.enum([...RUN_STATUSES, 'UNKNOWN']),
    startedAt: isoTime(),
    closedAt: isoTime().nullable(),
    costUsd: z.number().nullable().meta({ description: 'Estimated cost of a completed run (search attribute); null while running.' }),
    totalTokens: z.int().nullable(),
    errorType: z.string().nullable().meta({ description: 'Failure type of a failed run (search attribute), e.g. ProviderAuthFailed.' }),
  }),
  'A run as listings show it, from Temporal visibility.',
);
/** A run as listings show it (GET /v1/workflows), from Temporal visibility. */
export type RunSummary = z.infer<typeof RunSummarySchema>;

export const RunViewSchema = named(
  'RunView',
  RunSummarySchema.extend({
    steps: z.array(StepViewSchema).nullable().meta({ description: 'Null when progress could not be read (no worker answered the query in time).' }),
    result: PipelineResultSchema.optional(),
    error: StepFailureInfoSchema.extend({ step: z.string().optional() }).optional(),
    simulated: z.boolean().optional().meta({ description: 'True when any step was answered by the provider simulator.' }),
    webhook: WebhookStateSchema.optional(),
    budget: BudgetStatusSchema.optional().meta({ description: "A budgeted run's spend: spent, reserved by calls in flight, remaining." }),
    rerunOf: RunRefSchema.optional().meta({ description: 'Set on a run started by POST /v1/workflows/{id}/rerun.' }),
  }),
  'A run: its status, per-step progress, result or typed error.',
);
/** What GET /v1/workflows/:id answers. */
export type RunView = z.infer<typeof RunViewSchema>;

export const RunPageSchema = named(
  'RunPage',
  z.object({
    workflows: z.array(RunSummarySchema),
    nextPageToken: z.string().nullable().meta({ description: 'Pass as `pageToken` for the next page; null on the last page.' }),
  }),
  'One page of runs, newest first.',
);
export type RunPage = z.infer<typeof RunPageSchema>;

export const StartedRunSchema = named(
  'StartedRun',
  z.object({
    workflowId: z.string(),
    runId: z.string(),
    pipeline: z.string(),
    status: RunSummarySchema.shape.status,
    statusUrl: z.string().meta({ examples: ['/v1/workflows/classic-0b9c4f5e-8d1a-4c47-9f2e-6f1f3c7a2b10'] }),
    resultUrl: z.string(),
    idempotentReplay: z
      .boolean()
      .optional()
      .meta({ description: "True when an Idempotency-Key matched an earlier identical request: this is that request's run." }),
    rerunOf: RunRefSchema.optional(),
  }),
  'A run that was started (or, with idempotentReplay, found).',
);
/** What POST /v1/workflows and POST /v1/workflows/:id/rerun answer. */
export type StartedRun = z.infer<typeof StartedRunSchema>;

export const ResetRunSchema = named(
  'ResetRun',
  z.object({
    workflowId: z.string(),
    previousRunId: z.string(),
    runId: z.string(),
    resetTo: z.object({ point: z.enum(RESET_POINTS), eventId: z.int() }),
    statusUrl: z.string(),
    resultUrl: z.string(),
  }),
);
/** What POST /v1/workflows/:id/reset answers. */
export type ResetRun = z.infer<typeof ResetRunSchema>;

export const RunActionSchema = named(
  'RunAction',
  z.object({ workflowId: z.string(), status: z.enum(['CANCEL_REQUESTED', 'TERMINATED']) }),
  'A cancel or terminate request that Temporal accepted.',
);
export type RunAction = z.infer<typeof RunActionSchema>;

export const ApprovalDecidedSchema = named(
  'ApprovalDecided',
  z.object({
    workflowId: z.string(),
    step: z.string(),
    decision: z.enum(['approved', 'rejected']),
    budget: BudgetLimitsSchema.optional().meta({ description: "A budget approval's raised limits, as sent." }),
  }),
);
export type ApprovalDecided = z.infer<typeof ApprovalDecidedSchema>;

export const BatchOutcomeSchema = named(
  'BatchOutcome',
  z.object({
    dryRun: z.boolean(),
    matched: z.array(RunSummarySchema),
    results: z
      .array(
        z.object({
          workflowId: z.string(),
          runId: z.string(),
          outcome: z.enum(['reset', 'rerun', 'skipped', 'error']),
          newRunId: z.string().optional(),
          newWorkflowId: z.string().optional(),
          reason: z.string().optional(),
        }),
      )
      .optional()
      .meta({ description: 'Absent on a dry run.' }),
  }),
);
/** What POST /v1/batch/reset and /rerun answer; `results` is absent on a dry run. */
export type BatchOutcome = z.infer<typeof BatchOutcomeSchema>;

export const PipelineSummarySchema = named(
  'PipelineSummary',
  z.object({ name: z.string(), description: z.string().nullable(), requiredInput: z.array(z.string()).meta({ examples: [['prompt']] }) }),
);
/** A named pipeline as GET /v1/pipelines lists it. */
export type PipelineSummary = z.infer<typeof PipelineSummarySchema>;

export const PipelineListSchema = named('PipelineList', z.object({ pipelines: z.array(PipelineSummarySchema) }));

const DefinitionSchema = z.record(z.string(), z.unknown()).meta({ description: 'A pipeline definition, in the format GET /v1/pipelines/schema describes.' });
export const PipelineDetailsSchema = named('PipelineDetails', PipelineSummarySchema.extend({ definition: DefinitionSchema }));
export const PipelineValidSchema = named('PipelineValid', PipelineSummarySchema.extend({ valid: z.literal(true) }));
export const JsonSchemaDocumentSchema = named('JsonSchemaDocument', z.record(z.string(), z.unknown()), 'A JSON Schema (draft 2020-12).');

const ScheduleTimingShape = {
  cron: z.string().optional(),
  every: z.string().optional(),
  timezone: z.string().optional(),
};
/** How a schedule's runs are timed, as the caller gave it. */
export type ScheduleTiming = z.infer<z.ZodObject<typeof ScheduleTimingShape>>;

const ScheduledRunSchema = named(
  'ScheduledRun',
  z.object({ workflowId: z.string(), runId: z.string(), scheduledAt: isoTime(), startedAt: isoTime(), statusUrl: z.string() }),
);
export type ScheduledRun = z.infer<typeof ScheduledRunSchema>;

export const ScheduleViewSchema = named(
  'ScheduleView',
  z.object({
    id: z.string(),
    pipeline: z.string().nullable(),
    ...ScheduleTimingShape,
    paused: z.boolean(),
    note: z.string().nullable(),
    nextRunTimes: z.array(isoTime()),
    recentRuns: z.array(ScheduledRunSchema).meta({ description: 'Most recent runs it started (scheduled or triggered), oldest first.' }),
  }),
);
/** A schedule as GET /v1/schedules lists it. */
export type ScheduleView = z.infer<typeof ScheduleViewSchema>;

export const ScheduleDetailsSchema = named(
  'ScheduleDetails',
  ScheduleViewSchema.extend({ input: z.record(z.string(), z.unknown()).nullable(), createdAt: isoTime(), runsStarted: z.int() }),
);
/** One schedule, as GET /v1/schedules/:id answers. */
export type ScheduleDetails = z.infer<typeof ScheduleDetailsSchema>;

export const SchedulePageSchema = named(
  'SchedulePage',
  z.object({
    schedules: z.array(ScheduleViewSchema),
    nextPageToken: z.string().nullable().meta({ description: 'Pass as `pageToken` for the next page; null on the last page.' }),
  }),
);
export type SchedulePage = z.infer<typeof SchedulePageSchema>;

export const ScheduleTriggeredSchema = named('ScheduleTriggered', z.object({ id: z.string(), triggered: z.literal(true) }));
export type ScheduleTriggered = z.infer<typeof ScheduleTriggeredSchema>;

const SpendSchema = z.object({
  costUsd: z.number().meta({ description: 'USD, at the prices the workers had (a model without a price counts CHORUS_BUDGET_FALLBACK_PRICE, or 0).' }),
  tokens: z.int(),
  calls: z.int(),
});
const CapsSchema = z.object({ usd: z.number().optional(), tokens: z.int().optional() });

export const UsageSchema = named(
  'Usage',
  z.object({
    tenant: z.string(),
    from: z.string().meta({ description: 'First UTC day of the period (YYYY-MM-DD).', examples: ['2026-12-01'] }),
    to: z.string().meta({ description: 'Last UTC day of the period, included.', examples: ['2026-12-02'] }),
    total: SpendSchema,
    byDay: z.array(SpendSchema.extend({ day: z.string() })),
    byPipeline: z.array(SpendSchema.extend({ pipeline: z.string() })),
    byProvider: z.array(SpendSchema.extend({ provider: z.string() })),
    byModel: z.array(SpendSchema.extend({ provider: z.string(), model: z.string() })),
    rows: z
      .array(SpendSchema.extend({ day: z.string(), pipeline: z.string(), provider: z.string(), model: z.string() }))
      .meta({ description: 'The spend of each day, pipeline, provider and model.' }),
    reserved: SpendSchema.meta({ description: 'Held right now by calls in flight: their worst case until they answer.' }),
    caps: z.object({
      daily: CapsSchema.extend({ spent: SpendSchema.meta({ description: "Today's spend (UTC)." }) }),
      monthly: CapsSchema.extend({ spent: SpendSchema.meta({ description: "This month's spend (UTC)." }) }),
    }),
    expiredHolds: z
      .int()
      .meta({ description: "Holds of crashed attempts charged at their worst case in the period (each corrected if the call's answer still came)." }),
  }),
  "A tenant's provider spend over a period, from the ledger its caps are held in.",
);
export type Usage = z.infer<typeof UsageSchema>;

export const HealthSchema = named('Health', z.object({ status: z.literal('ok') }));
export const ReadinessSchema = named('Readiness', z.object({ status: z.literal('ready'), temporal: z.literal('reachable') }));

// The OpenAI wire (POST /v1/chat/completions, GET /v1/models): the request and answers as OpenAI's API reference has them.

const ChatTextPartSchema = z.object({ type: z.literal('text'), text: z.string() }).strict();

export const ChatMessageSchema = named(
  'ChatMessage',
  z
    .object({
      role: z.enum(['system', 'developer', 'user', 'assistant']),
      content: z.union([z.string(), z.array(ChatTextPartSchema).min(1)]).meta({ description: 'Text, or text parts (other part types are not supported).' }),
      name: z.string().max(64).optional(),
    })
    .strict(),
  'One message of the conversation.',
);
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

const ChatResponseFormatSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }).strict(),
  z.object({ type: z.literal('json_object') }).strict(),
  z
    .object({
      type: z.literal('json_schema'),
      json_schema: z
        .object({
          name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
          description: z.string().optional(),
          schema: z.record(z.string(), z.unknown()).optional(),
          strict: z.boolean().nullable().optional(),
        })
        .strict(),
    })
    .strict(),
]);

export const ChatCompletionRequestSchema = named(
  'ChatCompletionRequest',
  z
    .object({
      model: z
        .string()
        .min(1)
        .max(200)
        .meta({
          description:
            'A provider model (`<provider>/<model>`; `<provider>` for its default model; a bare `<model>` that one provider lists) or a named pipeline (`pipeline/<name>`); GET /v1/models lists them.',
          examples: ['openai/gpt-4o-mini', 'anthropic/claude-haiku-4-5', 'pipeline/classic'],
        }),
      messages: z.array(ChatMessageSchema).min(1).max(256),
      temperature: z.number().min(0).max(2).nullable().optional(),
      max_tokens: z.int().min(1).max(1_000_000).nullable().optional().meta({ description: 'Deprecated by OpenAI; the same as max_completion_tokens.' }),
      max_completion_tokens: z.int().min(1).max(1_000_000).nullable().optional(),
      response_format: ChatResponseFormatSchema.nullable().optional(),
      stop: z
        .union([z.string().min(1).max(100), z.array(z.string().min(1).max(100)).min(1).max(4)])
        .nullable()
        .optional(),
      n: z.literal(1).nullable().optional().meta({ description: 'One choice per request.' }),
      stream: z.boolean().nullable().optional(),
      stream_options: z.object({ include_usage: z.boolean().optional() }).strict().nullable().optional(),
      user: z.string().max(256).optional().meta({ description: 'Accepted for compatibility; not stored.' }),
    })
    .strict(),
  'An OpenAI chat completion request; each one is a durable Chorus run.',
);
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;

const ChatUsageSchema = z.object({ prompt_tokens: z.int(), completion_tokens: z.int(), total_tokens: z.int() });
const ChatFinishReasonSchema = z.enum(['stop', 'length']);

export const ChatCompletionSchema = named(
  'ChatCompletion',
  z.object({
    id: z.string().meta({ description: 'The workflow ID of the run that answered (also in the x-chorus-workflow-id header).' }),
    object: z.literal('chat.completion'),
    created: z.int(),
    model: z.string(),
    choices: z.array(
      z.object({
        index: z.int(),
        message: z.object({ role: z.literal('assistant'), content: z.string(), refusal: z.null() }),
        finish_reason: ChatFinishReasonSchema,
        logprobs: z.null(),
      }),
    ),
    usage: ChatUsageSchema,
  }),
  'An OpenAI chat completion: the durable result of the run.',
);
export type ChatCompletion = z.infer<typeof ChatCompletionSchema>;

export const ChatCompletionChunkSchema = named(
  'ChatCompletionChunk',
  z.object({
    id: z.string(),
    object: z.literal('chat.completion.chunk'),
    created: z.int(),
    model: z.string(),
    choices: z.array(
      z.object({
        index: z.int(),
        delta: z.object({ role: z.literal('assistant').optional(), content: z.string().optional() }),
        finish_reason: ChatFinishReasonSchema.nullable(),
        logprobs: z.null(),
      }),
    ),
    usage: ChatUsageSchema.nullable()
      .optional()
      .meta({ description: 'With stream_options.include_usage: null on every chunk but the last, which has no choices.' }),
  }),
  'One server-sent event of a streamed chat completion.',
);
export type ChatCompletionChunk = z.infer<typeof ChatCompletionChunkSchema>;

export const ModelListSchema = named(
  'ModelList',
  z.object({
    object: z.literal('list'),
    data: z.array(z.object({ id: z.string(), object: z.literal('model'), created: z.int(), owned_by: z.string() })),
  }),
  'What POST /v1/chat/completions can call: provider models and named pipelines.',
);
export type ModelList = z.infer<typeof ModelListSchema>;

export const OpenAiErrorSchema = named(
  'OpenAiError',
  z.object({
    error: z.object({
      message: z.string(),
      type: z.string().meta({ examples: ['invalid_request_error', 'authentication_error', 'rate_limit_error', 'api_error'] }),
      param: z.string().nullable().meta({ description: 'The rejected field (a 400), else null.' }),
      code: z.string().nullable(),
    }),
  }),
  "An error of the OpenAI-compatible operations, in OpenAI's error body.",
);
export type OpenAiError = z.infer<typeof OpenAiErrorSchema>;

/**
 * The JSON Schemas (draft 2020-12, as OpenAPI 3.1 uses) of every named answer, referring to each
 * other as `#/components/schemas/<name>`.
 */
export function contractJsonSchemas(): Record<string, Record<string, unknown>> {
  const { schemas } = z.toJSONSchema(contract, { target: 'draft-2020-12', uri: (id) => `#/components/schemas/${id}` });
  return Object.fromEntries(Object.entries(schemas).map(([name, { $schema: _schema, $id: _id, ...schema }]) => [name, schema as Record<string, unknown>]));
}
