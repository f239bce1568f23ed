import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes Chorus sets on every run so operators can find runs in the Web UI and
 * the API can list them. The one list: the dev server gets them as flags, `npm start` and the compose
 * files' one-shot job (tools/register-search-attributes.ts) add any a server lacks.
 */
export const PIPELINE_NAME_ATTRIBUTE = defineSearchAttributeKey('ChorusPipeline', SearchAttributeType.KEYWORD);
/** Estimated cost of a completed run in USD. */
export const COST_ATTRIBUTE = defineSearchAttributeKey('ChorusCostUsd', SearchAttributeType.DOUBLE);
/** Input plus output tokens of a completed run. */
export const TOKENS_ATTRIBUTE = defineSearchAttributeKey('ChorusTotalTokens', SearchAttributeType.INT);

/** Failure type of the step that failed a run, so failed runs can be found (and reset) by cause. */
export const ERROR_TYPE_ATTRIBUTE = defineSearchAttributeKey('ChorusErrorType', SearchAttributeType.KEYWORD);

/** The tenant that started a run: the API shows a run only to its own tenant. */
export const TENANT_ATTRIBUTE = defineSearchAttributeKey('ChorusTenant', SearchAttributeType.KEYWORD);

export const CHORUS_SEARCH_ATTRIBUTES = [PIPELINE_NAME_ATTRIBUTE, COST_ATTRIBUTE, TOKENS_ATTRIBUTE, ERROR_TYPE_ATTRIBUTE, TENANT_ATTRIBUTE] as const;
