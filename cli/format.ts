import type { PipelineSummary, RunView, StepView } from '../src/contract/api';

/** Run states in which nothing will change any more. */
export const isClosed = (run: Pick<RunView, 'status'>) => run.status !== 'RUNNING';

/** One step's state in a line: status, attempts, map progress, the error it failed or is retrying with. */
export function stepState(step: StepView): string {
  const parts: string[] = [step.status];
  if (step.items) parts.push(`${step.items.done}/${step.items.total} items`);
  if (step.attempts !== undefined && (step.attempts > 1 || step.status === 'running')) parts.push(`attempt ${step.attempts}`);
  if (step.status === 'waiting' && step.approval) {
    parts.push(
      `approval asked${step.approval.prompt ? `: ${step.approval.prompt}` : ''}${step.approval.timeoutAt ? ` (decided by timeout at ${step.approval.timeoutAt})` : ''}`,
    );
  }
  const error = step.error ?? step.lastError;
  if (error) parts.push(`${step.error ? 'error' : 'last error'} ${error.type}: ${error.message}`);
  return parts.join(', ');
}

export function runTotals(run: RunView): string {
  const parts: string[] = [];
  if (run.costUsd !== null && run.costUsd !== undefined) parts.push(`cost $${run.costUsd.toFixed(6)}`);
  if (run.totalTokens !== null && run.totalTokens !== undefined) parts.push(`${run.totalTokens} tokens`);
  if (run.simulated) parts.push('simulated');
  return parts.length ? ` (${parts.join(', ')})` : '';
}

export function runError(run: RunView): string | undefined {
  if (!run.error) return undefined;
  return `${run.error.type}${run.error.step ? ` in step ${run.error.step}` : ''}: ${run.error.message}`;
}

/** `chorus status`: the run and each step, one per line. */
export function formatRun(run: RunView): string {
  const lines = [
    `workflow  ${run.workflowId}`,
    `run       ${run.runId}`,
    `pipeline  ${run.pipeline ?? '-'}`,
    `status    ${run.status}${runTotals(run)}`,
    `started   ${run.startedAt}`,
  ];
  if (run.closedAt) lines.push(`closed    ${run.closedAt}`);
  const error = runError(run);
  if (error) lines.push(`error     ${error}`);
  if (run.steps) {
    const width = Math.max(...run.steps.map((step) => step.id.length), 4);
    lines.push('steps');
    for (const step of run.steps) lines.push(`  ${step.id.padEnd(width)}  ${step.provider.padEnd(7)}  ${stepState(step)}`);
  } else if (!isClosed(run)) {
    lines.push('steps     (progress unavailable: no worker answered in time)');
  }
  if (run.result) lines.push('output', indent(JSON.stringify(run.result.output, null, 2)));
  return lines.join('\n');
}

export function formatPipelines(pipelines: PipelineSummary[]): string {
  if (!pipelines.length) return '(no pipelines)';
  const width = Math.max(...pipelines.map((pipeline) => pipeline.name.length), 4);
  return pipelines
    .map(
      (pipeline) =>
        `${pipeline.name.padEnd(width)}  input: ${pipeline.requiredInput.join(', ') || '-'}${pipeline.description ? `\n${' '.repeat(width + 2)}${pipeline.description}` : ''}`,
    )
    .join('\n');
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');

/**
 * What changed between two polls of a run, as lines to print: each step whose state differs from
 * the last one seen. `seen` is updated in place.
 */
export function stepChanges(run: RunView, seen: Map<string, string>): string[] {
  const lines: string[] = [];
  for (const step of run.steps ?? []) {
    const state = stepState(step);
    if (seen.get(step.id) === state) continue;
    const before = seen.get(step.id);
    seen.set(step.id, state);
    lines.push(`${step.id}: ${before === undefined ? state : `${before.split(',')[0]} → ${state}`}`);
  }
  return lines;
}
