import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { badRequest } from '../errors/bad-request';

/** A protobuf Timestamp as the gRPC client gives it (seconds may be a Long, whose string is its decimal value). */
export interface Timestamp {
  seconds?: number | { toString(): string } | null;
  nanos?: number | null;
}
type IndexedFields = Record<string, Payload> | null | undefined;

/** A page of a Temporal listing and the raw cursor of the next one (null on the last page). */
export interface Page<T> {
  items: T[];
  nextPageToken: Uint8Array | null;
}

/** The page tokens clients see: Temporal's cursor, then an HMAC of the cursor and the listing's query. */
export const PAGE_TOKEN_PATTERN = /^[A-Za-z0-9_-]{1,8000}\.[A-Za-z0-9_-]{43}$/;

/**
 * Signs the cursors the API hands out and opens only those. Temporal fails slowly and with a 5xx
 * on a forged cursor, so an unsigned one never reaches it; the signature also binds a cursor to
 * its listing (tenant and filters), so it cannot page another listing.
 */
export class PageTokens {
  constructor(private readonly key: Buffer) {}

  /**
   * A key every replica of one configuration derives alike (so any replica opens any replica's
   * tokens), from what callers cannot know: the configured key digests, JWT settings and payload key.
   */
  static fromSecrets(...secrets: unknown[]): PageTokens {
    return new PageTokens(
      createHash('sha256')
        .update(`chorus page tokens\n${JSON.stringify(secrets)}`)
        .digest(),
    );
  }

  issue(listing: string, cursor: Uint8Array | null): string | null {
    if (!cursor?.length) return null;
    const encoded = Buffer.from(cursor).toString('base64url');
    return `${encoded}.${this.signature(listing, encoded)}`;
  }

  /** The cursor of a token this API issued for `listing`; anything else is a 400 naming pageToken. */
  open(listing: string, token: string | undefined): Uint8Array | undefined {
    if (token === undefined) return undefined;
    const [encoded = '', signature = ''] = token.split('.');
    const expected = this.signature(listing, encoded);
    if (signature.length !== expected.length || !timingSafeEqual(Buffer.from(signature), Buffer.from(expected))) {
      throw badRequest([{ field: 'pageToken', reason: 'is not a nextPageToken this API issued for this listing (same filters)' }]);
    }
    return Buffer.from(encoded, 'base64url');
  }

  private signature(listing: string, encoded: string): string {
    return createHmac('sha256', this.key).update(`${listing}\n${encoded}`).digest('base64url');
  }
}

export function timestampToDate(timestamp: Timestamp | null | undefined): Date | undefined {
  if (!timestamp?.seconds && !timestamp?.nanos) return undefined;
  return new Date(Number(String(timestamp.seconds ?? 0)) * 1000 + Math.floor((timestamp.nanos ?? 0) / 1e6));
}

/**
 * One search attribute of a listed entry. Search attributes are never encrypted (the server indexes
 * them), so the default payload converter reads them without the payload codec.
 */
export function searchAttribute(fields: IndexedFields, key: { name: string }): unknown {
  const payload = fields?.[key.name];
  if (!payload) return undefined;
  const value: unknown = defaultPayloadConverter.fromPayload(payload);
  // Keyword attributes may come as one-element lists.
  return Array.isArray(value) ? value[0] : value;
}

/**
 * One page of workflow executions from visibility, with the raw gRPC call: only what `map` reads
 * is decoded. (The SDK's `workflow.list()` decodes every run's memo with the payload codec, so an
 * API without the encryption key could not list runs whose memo is encrypted.)
 */
export async function listWorkflowPage<T>(
  client: Client,
  { query, pageSize, cursor }: { query: string; pageSize: number; cursor?: Uint8Array },
  map: (execution: temporal.api.workflow.v1.IWorkflowExecutionInfo) => T,
): Promise<Page<T>> {
  const response = await client.workflowService.listWorkflowExecutions({ namespace: client.options.namespace, query, pageSize, nextPageToken: cursor });
  return { items: response.executions.map(map), nextPageToken: response.nextPageToken?.length ? response.nextPageToken : null };
}

/** Up to `limit` executions, following pages as needed (for batches, which act on a bounded number of runs). */
export async function listWorkflows<T>(
  client: Client,
  query: string,
  limit: number,
  map: (execution: temporal.api.workflow.v1.IWorkflowExecutionInfo) => T,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: Uint8Array | undefined;
  do {
    const page = await listWorkflowPage(client, { query, pageSize: limit - items.length, cursor }, map);
    items.push(...page.items);
    cursor = page.nextPageToken ?? undefined;
  } while (cursor && items.length < limit);
  return items.slice(0, limit);
}

/** One page of schedules from visibility, raw as for runs. */
export async function listSchedulePage<T>(
  client: Client,
  { query, pageSize, cursor }: { query: string; pageSize: number; cursor?: Uint8Array },
  map: (entry: temporal.api.schedule.v1.IScheduleListEntry) => Promise<T | undefined>,
): Promise<Page<T>> {
  const response = await client.workflowService.listSchedules({ namespace: client.options.namespace, query, maximumPageSize: pageSize, nextPageToken: cursor });
  const items = (await Promise.all(response.schedules.map(map))).filter((item): item is Awaited<T> => item !== undefined);
  return { items, nextPageToken: response.nextPageToken?.length ? response.nextPageToken : null };
}

/**
 * A memo field decoded with the client's payload codec, or undefined when it cannot be (this API
 * has no key for an encrypted memo): a listing shows less rather than failing.
 */
export async function memoField(client: Client, fields: IndexedFields, name: string): Promise<unknown> {
  const payload = fields?.[name];
  if (!payload) return undefined;
  const { payloadCodecs, payloadConverter } = client.options.loadedDataConverter;
  try {
    let payloads = [payload];
    for (const codec of [...payloadCodecs].reverse()) payloads = await codec.decode(payloads);
    return payloadConverter.fromPayload(payloads[0]!);
  } catch {
    return undefined;
  }
}
