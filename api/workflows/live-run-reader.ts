import { Inject, Injectable, Logger } from '@nestjs/common';
import { Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { initialProgress } from '../../src/pipeline/progress';
import { BudgetLedger, type BudgetStatus, type RunBudget } from '../../src/pipeline/budget';
import type { PipelineRunInput, StepProgress, WebhookState } from '../../src/pipeline/types';
import type { pipelineWorkflow } from '../../workflows';
import { budgetQuery, progressQuery, webhookQuery } from '../../workflows/definitions';
import { runInputOf } from '../temporal/payloads';
import { TEMPORAL_CLIENT } from '../tokens';
import type { RunView, StepView } from '../../src/contract/api';

const QUERY_DEADLINE_MS = 3000;
/** WorkflowExecutionStarted, WorkflowTaskScheduled, WorkflowTaskStarted: a run this short has not decided anything yet. */
const EVENTS_BEFORE_FIRST_DECISION = 3;
/** Runs the API remembers between reads (a few kB each); the least recently read is forgotten first. */
const REMEMBERED_RUNS = 2000;

/** What the API keeps of a running run between status reads. */
interface RememberedRun {
  /** From the run's input, which never changes: every step pending, and where its webhook goes. */
  initialProgress: StepProgress[];
  webhookUrl: string | null;
  /** The run's budget, when it has one: nothing is spent before its first decision. */
  budget: RunBudget | null;
  /** What the workflow's queries answered while its history had `historyLength` events. */
  queried?: { historyLength: number; steps: StepView[]; webhook: WebhookState | null; budget: BudgetStatus | null };
}

/**
 * Progress of running runs, as exact as the workflow's own queries but without their worst cost:
 * a query sent before the run's first workflow task completed waits for it (1.5–2 s measured), and
 * two concurrent queries of one run can stall for as long. So a run that has decided nothing yet is
 * answered from its definition (all pending); otherwise one query at a time is sent, and only when
 * the history grew since the last one, since the workflow's state changes only in a workflow task.
 */
@Injectable()
export class LiveRunReader {
  private readonly logger = new Logger(LiveRunReader.name);
  private readonly remembered = new Map<string, RememberedRun>();

  constructor(@Inject(TEMPORAL_CLIENT) private readonly client: Client) {}

  /** Steps (null when no worker answered in time) and webhook of a run that is not completed or failed, as of `description`. */
  async read(description: WorkflowExecutionDescription): Promise<Pick<RunView, 'steps' | 'webhook' | 'budget'>> {
    const run = await this.remember(description).catch((error: Error) => {
      // Only the progress needs the run's input: the status the caller asked for is in `description` (an overloaded Temporal refuses such reads).
      this.logger.warn(`Reading the input of run ${description.runId} failed; answering without its steps: ${error.message}`);
      return undefined;
    });
    if (!run) return { steps: null };
    const historyLength = Number(description.raw.workflowExecutionInfo?.historyLength ?? 0);
    if (historyLength <= EVENTS_BEFORE_FIRST_DECISION) {
      return {
        steps: structuredClone(run.initialProgress),
        ...(run.webhookUrl ? { webhook: { url: run.webhookUrl, status: 'pending' } } : {}),
        ...(run.budget ? { budget: new BudgetLedger(run.budget).status() } : {}),
      };
    }
    if (run.queried?.historyLength !== historyLength) {
      const handle = this.client.workflow.getHandle<typeof pipelineWorkflow>(description.workflowId, description.runId);
      const steps = await this.query(() => handle.query(progressQuery));
      if (steps === undefined) return { steps: null };
      const webhook = run.webhookUrl ? await this.query(() => handle.query(webhookQuery)) : null;
      if (webhook === undefined) return { steps: withLiveAttempts(steps, description) };
      const budget = run.budget ? await this.query(() => handle.query(budgetQuery)) : null;
      if (budget === undefined) return { steps: withLiveAttempts(steps, description), ...(webhook ? { webhook } : {}) };
      run.queried = { historyLength, steps, webhook, budget };
    }
    const { steps, webhook, budget } = run.queried;
    return { steps: withLiveAttempts(structuredClone(steps), description), ...(webhook ? { webhook } : {}), ...(budget ? { budget } : {}) };
  }

  /** Remembers a run this API instance just started, so its first read needs no look at its input. */
  started(runId: string, run: Pick<PipelineRunInput, 'pipeline' | 'tenant' | 'callbackUrl' | 'budget'>): void {
    this.keep(runId, rememberedRun(run));
  }

  /** Drops what is kept of a run whose outcome describes it from now on. */
  forget(runId: string): void {
    this.remembered.delete(runId);
  }

  private async remember(description: WorkflowExecutionDescription): Promise<RememberedRun> {
    const run = this.remembered.get(description.runId) ?? rememberedRun(await runInputOf(this.client, description.workflowId, description.runId));
    this.keep(description.runId, run);
    return run;
  }

  private keep(runId: string, run: RememberedRun): void {
    this.remembered.delete(runId);
    this.remembered.set(runId, run);
    if (this.remembered.size > REMEMBERED_RUNS) this.remembered.delete(this.remembered.keys().next().value!);
  }

  /** A query's answer, or undefined when no worker answered within the deadline. */
  private async query<T>(send: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.client.withDeadline(Date.now() + QUERY_DEADLINE_MS, send);
    } catch {
      return undefined;
    }
  }
}

function rememberedRun({ pipeline, callbackUrl, tenant, budget }: Pick<PipelineRunInput, 'pipeline' | 'tenant' | 'callbackUrl' | 'budget'>): RememberedRun {
  // As the workflow decides: a webhook needs both a URL and the tenant that signs it.
  return { initialProgress: initialProgress(pipeline), webhookUrl: callbackUrl && tenant ? callbackUrl : null, budget: budget ?? null };
}

/** Adds what only Temporal knows of a running step: its current attempt and the last error it is retried after. */
function withLiveAttempts(steps: StepView[], description: WorkflowExecutionDescription): StepView[] {
  for (const pending of description.raw.pendingActivities ?? []) {
    const step = steps.find((candidate) => candidate.id === pending.activityId);
    if (!step || step.status !== 'running') continue;
    step.attempts = pending.attempt ?? undefined;
    const failure = pending.lastFailure;
    if (failure) step.lastError = { type: failure.applicationFailureInfo?.type ?? 'Error', message: failure.message ?? '' };
  }
  return steps;
}
