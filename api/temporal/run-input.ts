import type { Client } from '@temporalio/client';
import { fromPayloadsAtIndex, type Payload } from '@temporalio/common';
import type { PipelineRunInput } from '../../src/pipeline/types';

/** Decodes payloads as the client's data converter encoded them: its codecs in reverse order, then its payload converter. */
async function decodePayloads(client: Client, payloads: Payload[]): Promise<Payload[]> {
  const codecs = client.options.loadedDataConverter.payloadCodecs;
  let decoded = payloads;
  for (const codec of [...codecs].reverse()) decoded = await codec.decode(decoded);
  return decoded;
}

/** The input a run started with: the first event of its history, the only one read. */
export async function runInputOf(client: Client, workflowId: string, runId: string): Promise<PipelineRunInput> {
  const { history } = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId, runId },
    maximumPageSize: 1,
  });
  const payloads = (history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? []) as Payload[];
  return fromPayloadsAtIndex<PipelineRunInput>(client.options.loadedDataConverter.payloadConverter, 0, await decodePayloads(client, payloads));
}
