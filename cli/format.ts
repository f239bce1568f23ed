import type { BatchOutcome, PipelineSummary, RunSummary, RunView, ScheduleDetails, ScheduleView, StepView } from '../src/contract/api';

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

/** A table: each column as wide as its widest cell, two spaces apart. */
function table(rows: string[][]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]))).join('  ')).join('\n');
}

/** `chorus list`: one run a line, newest first. */
export function formatRunList(runs: RunSummary[]): string {
  if (!runs.length) return '(no runs)';
  return table([
    ['WORKFLOW', 'PIPELINE', 'STATUS', 'STARTED', 'COST', 'ERROR'],
    ...runs.map((run) => [
      run.workflowId,
      run.pipeline ?? '-',
      run.status,
      run.startedAt,
      run.costUsd === null || run.costUsd === undefined ? '-' : `$${run.costUsd.toFixed(6)}`,
      run.errorType ?? '',
    ]),
  ]);
}

const timing = (schedule: ScheduleView) =>
  schedule.cron ? `cron ${schedule.cron}${schedule.timezone ? ` (${schedule.timezone})` : ''}` : `every ${schedule.every ?? '?'}`;

/** `chorus schedules list`: one schedule a line. */
export function formatSchedules(schedules: ScheduleView[]): string {
  if (!schedules.length) return '(no schedules)';
  return table([
    ['ID', 'PIPELINE', 'WHEN', 'STATE', 'NEXT RUN'],
    ...schedules.map((schedule) => [
      schedule.id,
      schedule.pipeline ?? '-',
      timing(schedule),
      schedule.paused ? 'paused' : 'active',
      schedule.nextRunTimes[0] ?? '-',
    ]),
  ]);
}

/** `chorus schedules show` (and what create, pause and resume answer). */
export function formatSchedule(schedule: ScheduleDetails): string {
  const lines = [
    `schedule  ${schedule.id}`,
    `pipeline  ${schedule.pipeline ?? '-'}`,
    `when      ${timing(schedule)}`,
    `state     ${schedule.paused ? 'paused' : 'active'}${schedule.note ? ` (${schedule.note})` : ''}`,
    `created   ${schedule.createdAt}`,
    `runs      ${schedule.runsStarted} started`,
  ];
  if (schedule.nextRunTimes.length) lines.push('next', ...schedule.nextRunTimes.map((time) => `  ${time}`));
  if (schedule.recentRuns.length) lines.push('recent', ...schedule.recentRuns.map((run) => `  ${run.startedAt}  ${run.workflowId}`));
  if (schedule.input) lines.push('input', indent(JSON.stringify(schedule.input, null, 2)));
  return lines.join('\n');
}

/** `chorus batch reset|rerun`: what matched and what became of each. */
export function formatBatch(outcome: BatchOutcome): string {
  const lines = [`${outcome.matched.length} failed run(s) matched${outcome.dryRun ? ' (dry run: nothing done)' : ''}`];
  if (!outcome.results) lines.push(...outcome.matched.map((run) => `  ${run.workflowId}  ${run.pipeline ?? '-'}  ${run.errorType ?? ''}`.trimEnd()));
  for (const result of outcome.results ?? []) {
    const detail = result.newWorkflowId ?? result.newRunId ?? result.reason ?? '';
    lines.push(`  ${result.workflowId}  ${result.outcome}${detail ? `  ${detail}` : ''}`);
  }
  return lines.join('\n');
}
