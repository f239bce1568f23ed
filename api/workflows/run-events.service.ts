import { Inject, Injectable } from '@nestjs/common';
import { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { Request, Response } from 'express';
import type { TemporalSettings } from '../../src/config/temporal';
import type { Principal } from '../auth/principal';
import { decodedPayload } from '../temporal/payloads';
import { TEMPORAL_CLIENT, TEMPORAL_SETTINGS } from '../tokens';
import { RunReadService } from './run-read.service';
import { TOKEN_STREAM_START, isTokenId, type TokenEvent } from '../../src/streaming/token-stream';
import { NO_TOKEN_TRANSPORT, TokenEvents } from '../streaming/token-events';
import { TokenRelay } from '../streaming/token-relay';

const { EventType } = temporal.api.enums.v1;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** Longest a stream stays open; clients resume with Last-Event-ID. */
const MAX_STREAM_MS = 60 * 60 * 1000;
const KEEP_ALIVE_MS = 15_000;
const HISTORY_PAGE_SIZE = 200;

const CLOSE_EVENTS = new Set([
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
]);

/** One step state change, as streamed. `call` is the provider call (`summaries[2]`, `draft~gemini`). */
export interface StepEvent {
  step: string;
  call: string;
  status: 'running' | 'done' | 'failed' | 'cancelled' | 'decided';
  attempt?: number;
  errorType?: string;
}

/** The step an activity ID belongs to: map elements are `<step>[i]`, fallback calls `<step>~<provider>`. */
export const stepOfActivity = (activityId: string) => activityId.replace(/(\[\d+\])?(~[a-z]+)?$/, '');

/**
 * Where a client is in a run's events: the last history event and the last token event it has.
 * With token events an event's ID is `<history>:<token>` (both positions at once, so a reconnect
 * resumes each source exactly); without, it is the history event ID alone, as before.
 */
export function parseEventCursor(lastEventId: string | undefined): { history: number; token: string } {
  const match = /^(\d+)(?::(\d+-\d+))?$/.exec(lastEventId?.trim() ?? '');
  return { history: match ? Number(match[1]) : 0, token: match?.[2] && isTokenId(match[2]) ? match[2] : TOKEN_STREAM_START };
}

/**
 * Live progress as Server-Sent Events, read from the run's Temporal history: each event's ID is the
 * history event ID, so a client that reconnects with Last-Event-ID resumes exactly where it left off
 * (even on another API instance). The only payload read is an approval's answer (its step), through
 * the client's data converter, so this works with encryption on.
 */
@Injectable()
export class RunEventsService {
  constructor(
    @Inject(TEMPORAL_CLIENT) private readonly client: Client,
    @Inject(TEMPORAL_SETTINGS) private readonly temporal: TemporalSettings,
    private readonly runs: RunReadService,
    private readonly tokens: TokenEvents,
  ) {}

  async stream(workflowId: string, principal: Principal, lastEventId: string | undefined, request: Request, response: Response): Promise<void> {
    // Ownership is checked before any byte is sent, so a foreign run is a plain 404.
    const { runId } = await this.runs.describeOwned(workflowId, principal);
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const write = (id: string, event: string, data: unknown) => {
      if (!response.writableEnded) response.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const cursor = parseEventCursor(lastEventId);
    const resumeAfter = cursor.history;
    let historyAt = cursor.history;
    const abort = new AbortController();
    request.on('close', () => abort.abort());
    const keepAlive = setInterval(() => response.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
    const deadline = Date.now() + MAX_STREAM_MS;

    // Token events, when a transport carries them; the stream says at once whether it has them (an event without ID).
    const tokenStream = this.tokens.stream;
    const notice = (available: boolean, reason?: string) =>
      response.write(`event: tokens\ndata: ${JSON.stringify({ available, ...(available ? { transport: tokenStream?.transport } : { reason }) })}\n\n`);
    let relay: TokenRelay | undefined;
    let tokenAt = cursor.token;
    const idAt = (history: number) => (tokenStream ? `${history}:${tokenAt}` : String(history));
    const send = (id: number, event: string, data: unknown) => {
      historyAt = id;
      write(idAt(id), event, data);
    };
    let tokensFailed = false;
    if (tokenStream) {
      notice(true);
      relay = new TokenRelay(
        tokenStream,
        runId,
        cursor.token,
        (event: TokenEvent) => {
          tokenAt = event.id;
          write(idAt(historyAt), event.kind, tokenEventData(event));
        },
        (error) => {
          if (tokensFailed) return;
          tokensFailed = true;
          notice(false, `token transport failed: ${error.message}`);
        },
      );
    } else notice(false, NO_TOKEN_TRANSPORT);
    // Tokens go out live once the history read has caught up; before, each step's with its step.
    let live = false;

    const scheduled = new Map<number, string>();
    const attempts = new Map<number, number>();
    let nextPageToken: Uint8Array | undefined;
    try {
      while (!abort.signal.aborted && Date.now() < deadline) {
        const page = await this.client.withAbortSignal(abort.signal, () =>
          this.client.workflowService.getWorkflowExecutionHistory({
            namespace: this.temporal.namespace,
            execution: { workflowId, runId },
            nextPageToken,
            waitNewEvent: true,
            maximumPageSize: HISTORY_PAGE_SIZE,
          }),
        );
        for (const event of page.history?.events ?? []) {
          const id = Number(event.eventId);
          const decided = event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED;
          const change = decided ? await this.approvalDecided(event) : this.stepChange(event, scheduled, attempts);
          if (id <= resumeAfter) continue;
          const closes = event.eventType !== null && event.eventType !== undefined && CLOSE_EVENTS.has(event.eventType);
          // A call's text is stored before its result: it goes out before its step ends, and all of it before the run does.
          if (relay && !tokensFailed) {
            if (closes || (live && change && change.status !== 'running')) await relay.drain();
            else if (change && change.status !== 'running' && change.status !== 'decided') await relay.drainThrough(change.call);
          }
          if (change) send(id, 'step', change);
          if (closes) {
            send(id, 'run', await this.runs.describeRun(workflowId, principal));
            return;
          }
        }
        nextPageToken = page.nextPageToken?.length ? page.nextPageToken : nextPageToken;
        // A page short of full is the history's end so far: from here on, tokens go out as they come.
        if (relay && !live && (page.history?.events?.length ?? 0) < HISTORY_PAGE_SIZE) {
          live = true;
          relay.start();
        }
      }
    } catch (error) {
      if (!abort.signal.aborted) response.write(`event: error\ndata: ${JSON.stringify({ message: (error as Error).message })}\n\n`);
    } finally {
      clearInterval(keepAlive);
      await relay?.stop();
      response.end();
    }
  }

  /** The approval step a completed approval update decided: the update answers with the step's id. */
  private async approvalDecided(event: HistoryEvent): Promise<StepEvent> {
    const answer = event.workflowExecutionUpdateCompletedEventAttributes?.outcome?.success?.payloads as Payload[] | undefined;
    const { step } = await decodedPayload<{ step: string }>(this.client, answer);
    return { step, call: step, status: 'decided' };
  }

  /** The step change a history event means, if any; records what later events refer back to. */
  private stepChange(event: HistoryEvent, scheduled: Map<number, string>, attempts: Map<number, number>): StepEvent | undefined {
    const id = Number(event.eventId);
    const callOf = (scheduledEventId: unknown) => scheduled.get(Number(scheduledEventId)) ?? '?';
    const change = (call: string, status: StepEvent['status'], extra: Partial<StepEvent> = {}): StepEvent => ({
      step: stepOfActivity(call),
      call,
      status,
      ...extra,
    });
    switch (event.eventType) {
      case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
        const call = event.activityTaskScheduledEventAttributes?.activityId ?? '?';
        scheduled.set(id, call);
        return change(call, 'running');
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        attempts.set(Number(event.activityTaskStartedEventAttributes?.scheduledEventId), event.activityTaskStartedEventAttributes?.attempt ?? 1);
        return undefined;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
        const scheduledId = Number(event.activityTaskCompletedEventAttributes?.scheduledEventId);
        return change(callOf(scheduledId), 'done', { attempt: attempts.get(scheduledId) });
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: {
        const attributes = event.activityTaskFailedEventAttributes;
        const scheduledId = Number(attributes?.scheduledEventId);
        const errorType = attributes?.failure?.applicationFailureInfo?.type ?? 'Error';
        return change(callOf(scheduledId), 'failed', { attempt: attempts.get(scheduledId), errorType });
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
        return change(callOf(event.activityTaskTimedOutEventAttributes?.scheduledEventId), 'failed', { errorType: 'TimeoutFailure' });
      case EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
        return change(callOf(event.activityTaskCanceledEventAttributes?.scheduledEventId), 'cancelled');
      default:
        return undefined;
    }
  }
}

/** What a token event says: its call and attempt, and the text piece. */
function tokenEventData({ step, call, attempt, text, kind }: TokenEvent) {
  return kind === 'token' ? { step, call, attempt, text } : { step, call, attempt };
}
