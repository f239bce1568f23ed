import type { WorkflowExecutionInfo } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { COST_ATTRIBUTE, ERROR_TYPE_ATTRIBUTE, PIPELINE_NAME_ATTRIBUTE, TENANT_ATTRIBUTE, TOKENS_ATTRIBUTE } from '../../src/pipeline/search-attributes';
import { PIPELINE_WORKFLOW_TYPE } from '../../workflows/definitions';
import type { RunStatus, RunSummary, RunView } from '../../src/contract/api';
import { searchAttribute, timestampToDate } from '../temporal/listing';

// Visibility query spelling of each run status.
export const VISIBILITY_STATUS: Record<RunStatus, string> = {
  RUNNING: 'Running',
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  CANCELLED: 'Canceled',
  TERMINATED: 'Terminated',
  TIMED_OUT: 'TimedOut',
  CONTINUED_AS_NEW: 'ContinuedAsNew',
};

export function runStatus(info: Pick<WorkflowExecutionInfo, 'status'>): RunView['status'] {
  const name = info.status.name;
  return (name in VISIBILITY_STATUS ? name : 'UNKNOWN') as RunView['status'];
}

const { WorkflowExecutionStatus } = temporal.api.enums.v1;
/** Each run status by its visibility enum value. */
const STATUS_OF_CODE = new Map<number, RunStatus>([
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING, 'RUNNING'],
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED, 'COMPLETED'],
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED, 'FAILED'],
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED, 'CANCELLED'],
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED, 'TERMINATED'],
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT, 'TIMED_OUT'],
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW, 'CONTINUED_AS_NEW'],
]);

const stringOrNull = (value: unknown) => (typeof value === 'string' ? value : null);
const numberOrNull = (value: unknown) => (typeof value === 'number' ? value : null);

/**
 * A listed run from the raw visibility entry: IDs, status, times and search attributes only. The
 * memo is never decoded, so runs with an encrypted memo list without the key.
 */
export function summaryOfExecution(execution: temporal.api.workflow.v1.IWorkflowExecutionInfo): RunSummary {
  const fields = execution.searchAttributes?.indexedFields;
  return {
    workflowId: execution.execution?.workflowId ?? '',
    runId: execution.execution?.runId ?? '',
    pipeline: stringOrNull(searchAttribute(fields, PIPELINE_NAME_ATTRIBUTE)),
    status: STATUS_OF_CODE.get(execution.status ?? 0) ?? 'UNKNOWN',
    startedAt: (timestampToDate(execution.startTime) ?? new Date(0)).toISOString(),
    closedAt: timestampToDate(execution.closeTime)?.toISOString() ?? null,
    costUsd: numberOrNull(searchAttribute(fields, COST_ATTRIBUTE)),
    totalTokens: numberOrNull(searchAttribute(fields, TOKENS_ATTRIBUTE)),
    errorType: stringOrNull(searchAttribute(fields, ERROR_TYPE_ATTRIBUTE)),
  };
}

export function summaryOf(info: Omit<WorkflowExecutionInfo, 'raw'>): RunSummary {
  return {
    workflowId: info.workflowId,
    runId: info.runId,
    pipeline: info.typedSearchAttributes.get(PIPELINE_NAME_ATTRIBUTE) ?? null,
    status: runStatus(info),
    startedAt: info.startTime.toISOString(),
    closedAt: info.closeTime?.toISOString() ?? null,
    costUsd: info.typedSearchAttributes.get(COST_ATTRIBUTE) ?? null,
    totalTokens: info.typedSearchAttributes.get(TOKENS_ATTRIBUTE) ?? null,
    errorType: info.typedSearchAttributes.get(ERROR_TYPE_ATTRIBUTE) ?? null,
  };
}

export interface RunFilter {
  /** Always set by the API: a tenant sees only its own runs. */
  tenant: string;
  pipeline?: string;
  status?: RunStatus;
  errorType?: string;
  startedAfter?: Date;
  startedBefore?: Date;
}

/**
 * A visibility query for pipeline runs. Every value is validated against a strict pattern (or is a
 * Date) before it gets here, so nothing a client sends can change the query's shape.
 */
export function visibilityQuery({ tenant, pipeline, status, errorType, startedAfter, startedBefore }: RunFilter): string {
  const clauses = [`WorkflowType = '${PIPELINE_WORKFLOW_TYPE}'`, `${TENANT_ATTRIBUTE.name} = '${tenant}'`];
  if (pipeline) clauses.push(`${PIPELINE_NAME_ATTRIBUTE.name} = '${pipeline}'`);
  if (status) clauses.push(`ExecutionStatus = '${VISIBILITY_STATUS[status]}'`);
  if (errorType) clauses.push(`${ERROR_TYPE_ATTRIBUTE.name} = '${errorType}'`);
  if (startedAfter) clauses.push(`StartTime >= '${startedAfter.toISOString()}'`);
  if (startedBefore) clauses.push(`StartTime <= '${startedBefore.toISOString()}'`);
  return clauses.join(' AND ');
}
