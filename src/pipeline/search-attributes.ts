import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes Chorus sets on every run so operators can find runs in the Web UI and
 * the API can list them. The dev server registers them at start; a cluster needs them created once
 * (`temporal operator search-attribute create`, see README).
 */
export const PIPELINE_NAME_ATTRIBUTE = defineSearchAttributeKey('ChorusPipeline', SearchAttributeType.KEYWORD);

export const CHORUS_SEARCH_ATTRIBUTES = [PIPELINE_NAME_ATTRIBUTE] as const;
