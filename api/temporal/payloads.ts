import type { Client } from '@temporalio/client';
import { fromPayloadsAtIndex, type Payload } from '@temporalio/common';
import type { PipelineRunInput } from '../../src/pipeline/types';

/** The value at `index` of payloads from a history, decoded as the client encoded it: its codecs in reverse order, then its converter. */
export async function decodedPayload<T>(client: Client, payloads: Payload[] | null | undefined, index = 0): Promise<T> {
  const { payloadCodecs, payloadConverter } = client.options.loadedDataConverter;
  let decoded = payloads ?? [];
  for (const codec of [...payloadCodecs].reverse()) decoded = await codec.decode(decoded);
  return fromPayloadsAtIndex<T>(payloadConverter, index, decoded);
}

/** The input a run started with: the first event of its history, the only one read. */
export async function runInputOf(client: Client, workflowId: string, runId: string): Promise<PipelineRunInput> {
  const { history } = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId, runId },
    maximumPageSize: 1,
  });
  return decodedPayload<PipelineRunInput>(client, history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads as Payload[] | undefined);
}
