import { randomUUID } from 'node:crypto';
import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import {
  Client,
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  type ScheduleDescription,
  type ScheduleExecutionResult,
  type ScheduleHandle,
} from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { status } from '@grpc/grpc-js';
import type { Duration } from '@temporalio/common';
import type { ApiSettings } from '../../src/config/api';
import type { ScheduledRun, ScheduleDetails, SchedulePage, ScheduleTiming, ScheduleView } from '../../src/contract/api';
import { PIPELINE_NAME_ATTRIBUTE, TENANT_ATTRIBUTE } from '../../src/pipeline/search-attributes';
import type { PipelineRunInput } from '../../src/pipeline/types';
import type { pipelineWorkflow } from '../../workflows';
import type { Principal } from '../auth/principal';
import { badRequest } from '../errors/bad-request';
import { grpcCode } from '../errors/problem.filter';
import { PipelinesService } from '../pipelines/pipelines.service';
import { listSchedulePage, memoField, PageTokens, searchAttribute, timestampToDate, type Timestamp } from '../temporal/listing';
import { runLinks, RunStarter } from '../temporal/run-starter';
import { API_SETTINGS, TEMPORAL_CLIENT } from '../tokens';
import type { CreateScheduleDto } from './dto/schedule.dto';

/** Memo of a schedule: how its runs are timed, as the caller gave it (Temporal itself keeps cron only as calendars). */
const TIMING_MEMO = 'chorusTiming';

/**
 * A schedule's Temporal ID is its tenant, ":", then its ID. Tenants cannot contain ":", so every
 * lookup by a caller stays inside the caller's tenant: another tenant's schedule is simply an
 * unknown ID (OWASP API1), and the same ID in two tenants names two schedules.
 */
const temporalId = (tenant: string, id: string) => `${tenant}:${id}`;
const tenantPrefix = (tenant: string) => `${tenant}:`;

const NOT_FOUND = 'No schedule with this ID';

function recentRuns(actions: ScheduleExecutionResult[]): ScheduledRun[] {
  return actions.flatMap(({ scheduledAt, takenAt, action }) =>
    action.type === 'startWorkflow'
      ? [
          {
            workflowId: action.workflow.workflowId,
            runId: action.workflow.firstExecutionRunId,
            scheduledAt: scheduledAt.toISOString(),
            startedAt: takenAt.toISOString(),
            statusUrl: runLinks(action.workflow.workflowId).statusUrl,
          },
        ]
      : [],
  );
}

/** A listed schedule from the raw visibility entry; its timing memo is left out when this API cannot decode it. */
async function viewOfEntry(client: Client, id: string, entry: temporal.api.schedule.v1.IScheduleListEntry): Promise<ScheduleView> {
  const timing = ((await memoField(client, entry.memo?.fields, TIMING_MEMO)) ?? {}) as ScheduleTiming;
  const pipeline = searchAttribute(entry.searchAttributes?.indexedFields, PIPELINE_NAME_ATTRIBUTE);
  const times = (timestamps: (Timestamp | null)[] | null | undefined) => (timestamps ?? []).map((time) => (timestampToDate(time) ?? new Date(0)).toISOString());
  return {
    id,
    pipeline: typeof pipeline === 'string' ? pipeline : null,
    ...timing,
    paused: entry.info?.paused ?? false,
    note: entry.info?.notes || null,
    nextRunTimes: times(entry.info?.futureActionTimes),
    recentRuns: (entry.info?.recentActions ?? []).flatMap((action) => {
      const started = action.startWorkflowResult;
      if (!started?.workflowId) return [];
      return [
        {
          workflowId: started.workflowId,
          runId: started.runId ?? '',
          scheduledAt: times([action.scheduleTime ?? null])[0]!,
          startedAt: times([action.actualTime ?? null])[0]!,
          statusUrl: runLinks(started.workflowId).statusUrl,
        },
      ];
    }),
  };
}

function viewOf(id: string, schedule: ScheduleDescription): ScheduleView {
  const timing = (schedule.memo?.[TIMING_MEMO] ?? {}) as ScheduleTiming;
  return {
    id,
    pipeline: schedule.typedSearchAttributes?.get(PIPELINE_NAME_ATTRIBUTE) ?? null,
    ...timing,
    paused: schedule.state.paused,
    note: schedule.state.note || null,
    nextRunTimes: schedule.info.nextActionTimes.map((time) => time.toISOString()),
    recentRuns: recentRuns(schedule.info.recentActions),
  };
}

/** Runs named pipelines on a cron expression or an interval, with Temporal Schedules; each tenant sees only its own. */
@Injectable()
export class SchedulesService {
  constructor(
    @Inject(TEMPORAL_CLIENT) private readonly client: Client,
    @Inject(API_SETTINGS) private readonly api: ApiSettings,
    private readonly pipelines: PipelinesService,
    private readonly starter: RunStarter,
    private readonly pageTokens: PageTokens,
  ) {}

  async create(request: CreateScheduleDto, principal: Principal): Promise<ScheduleDetails> {
    const { pipeline: name, input, cron, every, timezone, paused = false, note } = request;
    if (cron !== undefined && every !== undefined) throw badRequest([{ field: 'every', reason: 'give either cron or every, not both' }]);
    const pipeline = this.pipelines.require(name);
    const id = request.id ?? `${pipeline.name}-${randomUUID().slice(0, 8)}`;
    // Built first: it checks the input as every run's input is checked.
    const action = this.starter.scheduleAction(id, { pipeline, input, tenant: principal.tenant, source: 'schedule', namedPipeline: pipeline.name });
    // A schedule starts paid runs forever: each tenant gets a bounded number (OWASP API4).
    if ((await this.count(principal)) >= this.api.maxSchedulesPerTenant) {
      throw new ConflictException(
        `Tenant "${principal.tenant}" already has ${this.api.maxSchedulesPerTenant} schedules, the limit (CHORUS_MAX_SCHEDULES_PER_TENANT)`,
      );
    }

    const timing: ScheduleTiming = cron !== undefined ? { cron, ...(timezone ? { timezone } : {}) } : { every };
    try {
      await this.client.schedule.create<typeof pipelineWorkflow>({
        scheduleId: temporalId(principal.tenant, id),
        spec: cron !== undefined ? { cronExpressions: [cron], timezone } : { intervals: [{ every: every as Duration }] },
        action,
        // The schedule itself is listed by its tenant and pipeline, as its runs are.
        typedSearchAttributes: action.typedSearchAttributes,
        memo: { [TIMING_MEMO]: timing },
        state: { paused, ...(note ? { note } : {}) },
      });
    } catch (error) {
      if (error instanceof ScheduleAlreadyRunning) throw new ConflictException(`A schedule with ID "${id}" already exists`);
      // Our checks should catch every bad spec first; whatever Temporal still rejects is the caller's spec.
      if (grpcCode(error) === status.INVALID_ARGUMENT) throw badRequest([{ field: cron !== undefined ? 'cron' : 'every', reason: (error as Error).message }]);
      throw error;
    }
    return this.describe(id, principal);
  }

  /** One page of the tenant's schedules; `nextPageToken` continues the listing. */
  async list(principal: Principal, limit = 50, pageToken?: string): Promise<SchedulePage> {
    const prefix = tenantPrefix(principal.tenant);
    // The tenant is a validated identifier ([A-Za-z0-9_.-]), so it cannot change the query's shape.
    const query = `${TENANT_ATTRIBUTE.name} = '${principal.tenant}'`;
    // The ID prefix is what owns a schedule; the search attribute only narrows the listing.
    const listing = `${query}\n${limit}`;
    const cursor = this.pageTokens.open(listing, pageToken);
    const page = await listSchedulePage(this.client, { query, pageSize: limit, cursor }, async (entry) =>
      entry.scheduleId?.startsWith(prefix) ? viewOfEntry(this.client, entry.scheduleId.slice(prefix.length), entry) : undefined,
    );
    return { schedules: page.items, nextPageToken: this.pageTokens.issue(listing, page.nextPageToken) };
  }

  /** How many schedules the tenant has, up to the limit (pages of at most the limit are read). */
  private async count(principal: Principal): Promise<number> {
    let counted = 0;
    let pageToken: string | undefined;
    do {
      const page = await this.list(principal, this.api.maxSchedulesPerTenant, pageToken);
      counted += page.schedules.length;
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken && counted < this.api.maxSchedulesPerTenant);
    return counted;
  }

  async describe(id: string, principal: Principal): Promise<ScheduleDetails> {
    const description = await this.owned(id, principal, (handle) => handle.describe());
    const runInput = description.action.type === 'startWorkflow' ? (description.action.args?.[0] as PipelineRunInput | undefined) : undefined;
    return {
      ...viewOf(id, description),
      input: runInput?.input ?? null,
      createdAt: description.info.createdAt.toISOString(),
      runsStarted: description.info.numActionsTaken,
    };
  }

  async pause(id: string, principal: Principal, note?: string): Promise<ScheduleDetails> {
    await this.owned(id, principal, (handle) => handle.pause(note ?? 'Paused through the Chorus API'));
    return this.describe(id, principal);
  }

  async resume(id: string, principal: Principal, note?: string): Promise<ScheduleDetails> {
    await this.owned(id, principal, (handle) => handle.unpause(note ?? 'Resumed through the Chorus API'));
    return this.describe(id, principal);
  }

  /** Starts a run now, even while paused or while another run is going. */
  async trigger(id: string, principal: Principal): Promise<{ id: string; triggered: true }> {
    await this.owned(id, principal, (handle) => handle.trigger());
    return { id, triggered: true };
  }

  async delete(id: string, principal: Principal): Promise<void> {
    await this.owned(id, principal, (handle) => handle.delete());
  }

  /** Runs an operation on the caller tenant's schedule `id`; an unknown ID (or another tenant's) is a 404. */
  private async owned<T>(id: string, principal: Principal, operation: (handle: ScheduleHandle) => Promise<T>): Promise<T> {
    try {
      return await operation(this.client.schedule.getHandle(temporalId(principal.tenant, id)));
    } catch (error) {
      if (error instanceof ScheduleNotFoundError || grpcCode(error) === status.NOT_FOUND) throw new NotFoundException(NOT_FOUND);
      throw error;
    }
  }
}
