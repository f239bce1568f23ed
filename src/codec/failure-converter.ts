import { DefaultFailureConverter } from '@temporalio/common';

// Failure messages and stack traces can quote prompts: move them into the (encrypted) payload.
// Loaded by path (DataConverter.failureConverterPath) so the workflow bundle uses it too.
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
