import Ajv from 'ajv';
import { z } from 'zod';
import { BUDGET_EXCEEDED_POLICIES } from './budget';
import { inspectCondition } from './condition';
import { DURATION_PATTERN } from './duration';
import { PROVIDER_NAMES, type ProviderName } from './providers';
import { templatePaths } from './template';
import {
  isApprovalStep,
  isMapStep,
  isParallelStep,
  EXECUTION_MODES,
  STEP_TASKS,
  type MapStep,
  type PipelineDefinition,
  type PipelineStep,
  type ProviderCallSpec,
  type ProviderStep,
} from './types';

/** Per provider, the only models its steps may name (a configured instance's `<NAME>_MODELS`); a provider not listed takes any model. */
export type AllowedModels = Readonly<Record<ProviderName, readonly string[]>>;

/** One problem of a definition or request: where (JSON path) and why. */
export interface FieldProblem {
  field: string;
  reason: string;
}

export const PIPELINE_LIMITS = { steps: 50, parallel: 10, mapConcurrency: 32, fallbacks: 3, promptChars: 20_000, labels: 50 } as const;
export const PIPELINE_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const duration = z.string().regex(DURATION_PATTERN, 'expected a duration such as 500ms, 30s or 2m');
const stepId = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'expected a letter, then up to 63 letters, digits, "_" or "-"');
const condition = z.union([z.boolean(), z.record(z.string(), z.unknown())]).describe('JSONLogic condition (subset) on { input, steps }');

const RetrySchema = z
  .object({
    budget: duration.optional().describe('how long transient failures are retried, attempts and waits included; default 10m unless maximumAttempts is set'),
    maximumAttempts: z.number().int().min(1).max(20).optional(),
    initialInterval: duration.optional(),
    backoffCoefficient: z.number().min(1).max(10).optional(),
    maximumInterval: duration.optional(),
  })
  .strict();
const executionMode = z
  .enum(EXECUTION_MODES)
  .describe('remote: an activity on the provider task queue (default); local: a local activity in the workflow worker, faster, a crash repeats more calls');
const CacheSchema = z
  .object({ ttl: duration.describe('how long the answer is reused for identical calls') })
  .strict()
  .describe("reuse an identical earlier call's answer (same tenant, provider, model and rendered request) at $0");
const TimeoutSchema = z.object({ startToClose: duration.optional(), heartbeat: duration.optional() }).strict();
/** The highest limits a budget may set: the API's document shows them too. */
export const BUDGET_LIMIT_MAXIMUMS = { maxCostUsd: 1_000_000, maxTokens: 1_000_000_000 } as const;
const budgetLimits = {
  maxCostUsd: z.number().positive().max(BUDGET_LIMIT_MAXIMUMS.maxCostUsd).optional().describe("most the run's provider calls may cost, in USD"),
  maxTokens: z
    .number()
    .int()
    .positive()
    .max(BUDGET_LIMIT_MAXIMUMS.maxTokens)
    .optional()
    .describe("most tokens the run's provider calls may use, input and output"),
};
const someLimit = (budget: { maxCostUsd?: number; maxTokens?: number }) => budget.maxCostUsd !== undefined || budget.maxTokens !== undefined;
/** A run's spending cap as a start request sets it, or as a budget approval raises it: limits only. */
export const BudgetSchema = z.object(budgetLimits).strict().refine(someLimit, 'set maxCostUsd, maxTokens or both');
/** A definition's budget: its limits, and what a call that does not fit them does. */
const PipelineBudgetSchema = z
  .object({
    ...budgetLimits,
    onExceeded: z
      .enum(BUDGET_EXCEEDED_POLICIES)
      .optional()
      .describe('fail (default): the step fails BudgetExceeded; await-approval: the run waits for an approval that raises its budget'),
    approvalTimeout: duration.optional().describe('with onExceeded: await-approval, how long the run waits for the decision; forever when absent'),
  })
  .strict()
  .refine(someLimit, 'set maxCostUsd, maxTokens or both')
  .refine((budget) => budget.approvalTimeout === undefined || budget.onExceeded === 'await-approval', {
    message: 'approvalTimeout needs onExceeded: await-approval',
    path: ['approvalTimeout'],
  });
/**
 * The step schemas for a deployment's providers: the built-in ones by default, plus the instances
 * it configures (the API validates with its configuration, the exported schema lists the built-ins).
 */
function stepSchemas(providers: readonly ProviderName[]) {
  const providerName = z.enum(providers as [ProviderName, ...ProviderName[]], { message: `expected one of the configured providers: ${providers.join(', ')}` });
  const FallbackSchema = z.object({ provider: providerName, model: z.string().min(1).optional() }).strict();

  const callSpecShape = {
    provider: providerName,
    model: z.string().min(1).max(200).optional(),
    task: z.enum(STEP_TASKS),
    prompt: z.string().min(1).max(PIPELINE_LIMITS.promptChars),
    labels: z.array(z.string().min(1).max(100)).min(2).max(PIPELINE_LIMITS.labels).optional(),
    schema: z.record(z.string(), z.unknown()).optional().describe('JSON Schema of the extract answer'),
    image: z.string().min(1).optional().describe('template rendering to an http(s) URL or a data:image/...;base64 URL'),
    maxOutputTokens: z.number().int().min(1).max(1_000_000).optional().describe('most tokens the answer may take'),
    temperature: z.number().min(0).max(2).optional().describe('sampling temperature (Anthropic: capped at 1)'),
    stopSequences: z.array(z.string().min(1).max(100)).min(1).max(4).optional().describe('the answer ends before any of these'),
    allowTruncated: z
      .boolean()
      .optional()
      .describe('an answer cut at the output-token limit is a success flagged truncated: true, not a ProviderOutputTruncated failure (text tasks only)'),
    retry: RetrySchema.optional(),
    timeout: TimeoutSchema.optional(),
    fallback: z.array(FallbackSchema).max(PIPELINE_LIMITS.fallbacks).optional(),
    execution: executionMode.optional(),
    cache: CacheSchema.optional().describe("set on the step, it caches at any temperature; else the pipeline's cache applies at temperature 0 or unset"),
  };
  const CallSpecSchema = z.object(callSpecShape).strict();
  const ProviderStepSchema = z.object({ id: stepId, when: condition.optional(), ...callSpecShape }).strict();
  const ParallelStepSchema = z
    .object({ id: stepId, when: condition.optional(), parallel: z.array(ProviderStepSchema).min(2).max(PIPELINE_LIMITS.parallel) })
    .strict();
  const MapStepSchema = z
    .object({
      id: stepId,
      when: condition.optional(),
      map: z.object({ over: z.string(), concurrency: z.number().int().min(1).max(PIPELINE_LIMITS.mapConcurrency).optional(), step: CallSpecSchema }).strict(),
    })
    .strict();

  const ApprovalStepSchema = z
    .object({
      id: stepId,
      when: condition.optional(),
      approval: z
        .object({
          prompt: z.string().min(1).max(PIPELINE_LIMITS.promptChars).optional(),
          timeout: duration.optional(),
          onTimeout: z.enum(['approve', 'reject']).optional(),
          onReject: z.enum(['fail', 'continue']).optional(),
        })
        .strict(),
    })
    .strict();

  /** The whole format, for the exported JSON Schema (editors) and for documentation. */
  const PipelineSchema = z
    .object({
      name: z.string().regex(PIPELINE_NAME_PATTERN, 'expected 1-64 letters, digits, "_" or "-"'),
      description: z.string().max(2000).optional(),
      steps: z
        .array(z.union([ParallelStepSchema, MapStepSchema, ApprovalStepSchema, ProviderStepSchema]))
        .min(1)
        .max(PIPELINE_LIMITS.steps),
      output: z.record(z.string(), z.union([z.string(), z.array(z.string()).min(1)])).optional(),
      budget: PipelineBudgetSchema.optional(),
      execution: executionMode.optional(),
      cache: CacheSchema.optional().describe('caches every step that sets no cache of its own and no temperature above 0'),
    })
    .strict();

  /** Which schema a step object is checked against, by its distinguishing key. */
  function stepSchemaFor(step: unknown) {
    if (typeof step === 'object' && step !== null && 'parallel' in step) return ParallelStepSchema;
    if (typeof step === 'object' && step !== null && 'map' in step) return MapStepSchema;
    if (typeof step === 'object' && step !== null && 'approval' in step) return ApprovalStepSchema;
    return ProviderStepSchema;
  }
  return { PipelineSchema, stepSchemaFor };
}

const schemasByProviders = new Map<string, ReturnType<typeof stepSchemas>>();
/** Built once per list of providers (a process has one or two). */
function schemasFor(providers: readonly ProviderName[]) {
  const key = providers.join(',');
  let schemas = schemasByProviders.get(key);
  if (!schemas) schemasByProviders.set(key, (schemas = stepSchemas(providers)));
  return schemas;
}

/** The whole format with the built-in providers. */
export const PipelineSchema = schemasFor(PROVIDER_NAMES).PipelineSchema;

const jsonPath = (path: readonly PropertyKey[], prefix = '$') =>
  path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : `${acc}.${String(key)}`), prefix);

function zodProblems(result: z.ZodSafeParseResult<unknown>, prefix: string): FieldProblem[] {
  return result.success ? [] : result.error.issues.map((issue) => ({ field: jsonPath(issue.path, prefix), reason: issue.message }));
}

const ajv = new Ajv({ allErrors: true, strict: false });

/** Tasks whose answer is parsed as JSON. */
const STRUCTURED_TASKS: ReadonlySet<string> = new Set(['sentiment', 'classify', 'extract']);

/** Where each step ID is defined: its position in the sequence, and its parallel group if any. */
interface StepSlot {
  position: number;
  group?: string;
}

function collectSlots(steps: PipelineStep[]): { slots: Map<string, StepSlot>; problems: FieldProblem[] } {
  const slots = new Map<string, StepSlot>();
  const problems: FieldProblem[] = [];
  const claim = (id: string, slot: StepSlot, field: string) => {
    if (slots.has(id)) problems.push({ field, reason: `duplicate step id "${id}"` });
    else slots.set(id, slot);
  };
  steps.forEach((step, position) => {
    claim(step.id, { position }, `$.steps[${position}].id`);
    if (isParallelStep(step))
      step.parallel.forEach((member, index) => claim(member.id, { position, group: step.id }, `$.steps[${position}].parallel[${index}].id`));
  });
  return { slots, problems };
}

/**
 * Checks that what a step reads exists when it runs: `input.*`, steps that ran before it, and in a
 * map step `item`/`index`.
 */
function checkReads(reads: string[], field: string, here: StepSlot, slots: Map<string, StepSlot>, inMap: boolean): FieldProblem[] {
  return reads.flatMap((path): FieldProblem[] => {
    const [root, stepName] = path.split('.');
    if (root === 'input') return path.includes('.') ? [] : [{ field, reason: 'read a field of the input, e.g. input.topic' }];
    if (inMap && (root === 'item' || root === 'index')) return [];
    if (root !== 'steps' || !stepName) {
      return [{ field, reason: `"${path}" must start with input.<field>${inMap ? ', item, index' : ''} or steps.<id>` }];
    }
    const target = slots.get(stepName);
    if (!target) return [{ field, reason: `"${path}" reads unknown step "${stepName}"` }];
    if (target.position > here.position || (target.position === here.position && (here.group === undefined || target.group === here.group))) {
      return [{ field, reason: `"${path}" reads step "${stepName}", which has not finished when this step runs (a cycle or forward reference)` }];
    }
    return [];
  });
}

function templateReads(template: string, field: string): { reads: string[]; problems: FieldProblem[] } {
  try {
    return { reads: templatePaths(template), problems: [] };
  } catch (error) {
    return { reads: [], problems: [{ field, reason: (error as Error).message }] };
  }
}

/** Problems of the models a call names, on providers that allow only some (its default model is one of them). */
function checkModels(spec: ProviderCallSpec, at: string, allowed: AllowedModels): FieldProblem[] {
  const targets = [
    { provider: spec.provider, model: spec.model, field: `${at}.model` },
    ...(spec.fallback ?? []).map((target, index) => ({ ...target, field: `${at}.fallback[${index}].model` })),
  ];
  return targets.flatMap(({ provider, model, field }) => {
    const models = allowed[provider];
    if (!models || model === undefined || models.includes(model)) return [];
    return [{ field, reason: `model "${model}" is not allowed on provider "${provider}"; allowed: ${models.join(', ')}` }];
  });
}

function checkCallSpec(
  spec: ProviderCallSpec,
  at: string,
  here: StepSlot,
  slots: Map<string, StepSlot>,
  inMap: boolean,
  allowed: AllowedModels,
): FieldProblem[] {
  const problems: FieldProblem[] = checkModels(spec, at, allowed);
  const requireField = (present: boolean, field: string, task: string) => {
    if (spec.task === task && !present) problems.push({ field: `${at}.${field}`, reason: `required when task is "${task}"` });
    if (spec.task !== task && present) problems.push({ field: `${at}.${field}`, reason: `only allowed when task is "${task}"` });
  };
  requireField(spec.labels !== undefined, 'labels', 'classify');
  requireField(spec.schema !== undefined, 'schema', 'extract');
  requireField(spec.image !== undefined, 'image', 'analyze-image');
  // A structured answer cut short is no longer JSON: it would fail its parse, and its retry stops at the same limit.
  if (spec.allowTruncated && STRUCTURED_TASKS.has(spec.task)) {
    problems.push({ field: `${at}.allowTruncated`, reason: `not allowed when task is "${spec.task}": a structured answer cut short cannot be parsed` });
  }
  if (spec.schema) {
    try {
      ajv.compile(spec.schema);
    } catch (error) {
      problems.push({ field: `${at}.schema`, reason: `not a valid JSON Schema: ${(error as Error).message}` });
    }
  }
  for (const [field, template] of [
    ['prompt', spec.prompt],
    ['image', spec.image],
  ] as const) {
    if (template === undefined) continue;
    const { reads, problems: templateProblems } = templateReads(template, `${at}.${field}`);
    problems.push(...templateProblems, ...checkReads(reads, `${at}.${field}`, here, slots, inMap));
  }
  return problems;
}

function checkStep(step: PipelineStep, position: number, slots: Map<string, StepSlot>, allowed: AllowedModels): FieldProblem[] {
  const at = `$.steps[${position}]`;
  const here: StepSlot = { position };
  const problems: FieldProblem[] = [];
  if (step.when !== undefined) {
    const { problems: conditionProblems, reads } = inspectCondition(step.when, `${at}.when`);
    problems.push(...conditionProblems.map(({ path, message }) => ({ field: path, reason: message })), ...checkReads(reads, `${at}.when`, here, slots, false));
  }
  if (isParallelStep(step)) {
    step.parallel.forEach((member, index) => {
      const memberAt = `${at}.parallel[${index}]`;
      if (member.when !== undefined) problems.push({ field: `${memberAt}.when`, reason: 'put the condition on the parallel group' });
      problems.push(...checkCallSpec(member, memberAt, { position, group: step.id }, slots, false, allowed));
    });
  } else if (isApprovalStep(step)) {
    if (step.approval.prompt !== undefined) {
      const { reads, problems: promptProblems } = templateReads(step.approval.prompt, `${at}.approval.prompt`);
      problems.push(...promptProblems, ...checkReads(reads, `${at}.approval.prompt`, here, slots, false));
    }
  } else if (isMapStep(step)) {
    const { over, step: call } = (step as MapStep).map;
    const { reads, problems: overProblems } = templateReads(`{{${over}}}`, `${at}.map.over`);
    problems.push(...overProblems, ...checkReads(reads, `${at}.map.over`, here, slots, false));
    problems.push(...checkCallSpec(call, `${at}.map.step`, here, slots, true, allowed));
  } else {
    problems.push(...checkCallSpec(step as ProviderStep, at, here, slots, false, allowed));
  }
  return problems;
}

/**
 * Validates a pipeline definition: structure first, then references, templates, conditions and
 * schemas. `providers` are the names a step may call (@default the built-in providers), `allowedModels`
 * the models it may name where a provider allows only some (@default any model).
 */
export function validatePipeline(
  candidate: unknown,
  providers: readonly ProviderName[] = PROVIDER_NAMES,
  allowedModels: AllowedModels = {},
): { pipeline: PipelineDefinition; problems: [] } | { pipeline?: undefined; problems: FieldProblem[] } {
  const { PipelineSchema, stepSchemaFor } = schemasFor(providers);
  const shape = z
    .object({ steps: z.array(z.unknown()) })
    .loose()
    .safeParse(candidate);
  const outer = PipelineSchema.extend({ steps: z.array(z.unknown()).min(1).max(PIPELINE_LIMITS.steps) }).safeParse(candidate);
  const structural = [
    ...zodProblems(outer, '$'),
    ...(shape.success ? shape.data.steps.flatMap((step, index) => zodProblems(stepSchemaFor(step).safeParse(step), `$.steps[${index}]`)) : []),
  ];
  if (structural.length) return { problems: structural };

  const pipeline = candidate as PipelineDefinition;
  const { slots, problems } = collectSlots(pipeline.steps);
  problems.push(...pipeline.steps.flatMap((step, position) => checkStep(step, position, slots, allowedModels)));
  const end: StepSlot = { position: pipeline.steps.length };
  for (const [field, paths] of Object.entries(pipeline.output ?? {})) {
    const list = Array.isArray(paths) ? paths : [paths];
    const { reads, problems: pathProblems } = templateReads(list.map((path) => `{{${path}}}`).join(''), `$.output.${field}`);
    problems.push(...pathProblems, ...checkReads(reads, `$.output.${field}`, end, slots, false));
  }
  return problems.length ? { problems } : { pipeline, problems: [] };
}

/** The `input.*` fields a pipeline needs: read by a prompt, an image template or a map's list. */
export function requiredInputFields(pipeline: PipelineDefinition): string[] {
  const calls = pipeline.steps.flatMap((step): ProviderCallSpec[] =>
    isParallelStep(step) ? step.parallel : isMapStep(step) ? [step.map.step] : isApprovalStep(step) ? [] : [step],
  );
  const paths = [
    ...calls.flatMap((call) => [call.prompt, call.image ?? ''].flatMap((template) => templatePaths(template))),
    ...pipeline.steps.filter(isApprovalStep).flatMap((step) => templatePaths(step.approval.prompt ?? '')),
    ...pipeline.steps.filter(isMapStep).map((step) => step.map.over),
  ];
  return [...new Set(paths.filter((path) => path.startsWith('input.')).map((path) => path.split('.')[1]))];
}

/** JSON Schema of the definition format, for editors (`pipelines/pipeline.schema.json`: the built-in providers) and the API (its configured ones). */
export function pipelineJsonSchema(providers: readonly ProviderName[] = PROVIDER_NAMES): Record<string, unknown> {
  return {
    ...z.toJSONSchema(schemasFor(providers).PipelineSchema),
    $id: 'https://chorus.dev/schemas/pipeline.schema.json',
    title: 'Chorus pipeline definition',
  };
}
