import { defineQuery } from '@temporalio/workflow';
import type { StepProgress } from '../src/pipeline/types';

/** Workflow type name of every pipeline run; the API starts and lists runs by it. */
export const PIPELINE_WORKFLOW_TYPE = 'pipelineWorkflow';

/** Each step's state: pending, running, done, failed, cancelled. */
export const progressQuery = defineQuery<StepProgress[]>('progress');
