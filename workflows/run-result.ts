import {
  isApprovalOutcome,
  isMapResult,
  type PipelineDefinition,
  type StepOutput,
  type StepResult,
  type StepUsage,
  type UsageReport,
} from '../src/pipeline/types';
import { readPath } from '../src/pipeline/template';
import type { StepOutputs, TemplateScope } from './run-state';

function readOutput(paths: string | string[], scope: TemplateScope): unknown {
  for (const path of Array.isArray(paths) ? paths : [paths]) {
    const value = readPath(scope, path);
    if (value !== undefined && value !== null) return value;
  }
  return null;
}

/** The run's `output`: the definition's fields read from `{ input, steps }`, or every step's text when it has none. */
export function outputOf(pipeline: PipelineDefinition, scope: TemplateScope): Record<string, unknown> {
  if (!pipeline.output) {
    const textOf = (result: StepOutput) => (isMapResult(result) ? result.texts : isApprovalOutcome(result) ? result.decision : result.text);
    return Object.fromEntries(Object.entries(scope.steps).map(([id, result]) => [id, textOf(result)]));
  }
  return Object.fromEntries(Object.entries(pipeline.output).map(([field, paths]) => [field, readOutput(paths, scope)]));
}

/** Tokens, latency, attempts and cost of every provider call of the run, and their totals. */
export function usageOf(steps: StepOutputs): UsageReport {
  const callsOf = (id: string, result: StepOutput): (readonly [string, StepResult])[] => {
    if (isApprovalOutcome(result)) return [];
    return isMapResult(result) ? result.items.map((item, index) => [`${id}[${index}]`, item] as const) : [[id, result] as const];
  };
  const calls: StepUsage[] = Object.entries(steps).flatMap(([id, result]) =>
    callsOf(id, result).map(([step, call]) => ({
      step,
      provider: call.provider,
      model: call.model,
      inputTokens: call.usage.inputTokens,
      outputTokens: call.usage.outputTokens,
      latencyMs: call.latencyMs,
      attempts: call.attempt,
      costUsd: call.costUsd,
      simulated: call.simulated,
    })),
  );
  const total = calls.reduce(
    (sum, call) => ({
      inputTokens: sum.inputTokens + call.inputTokens,
      outputTokens: sum.outputTokens + call.outputTokens,
      costUsd: sum.costUsd + (call.costUsd ?? 0),
      latencyMs: sum.latencyMs + call.latencyMs,
      calls: sum.calls + 1,
    }),
    { inputTokens: 0, outputTokens: 0, costUsd: 0, latencyMs: 0, calls: 0 },
  );
  return { steps: calls, total: { ...total, costUsd: Math.round(total.costUsd * 1e8) / 1e8 }, costIncomplete: calls.some((call) => call.costUsd === null) };
}
