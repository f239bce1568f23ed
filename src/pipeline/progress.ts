import { isApprovalStep, isMapStep, isParallelStep, type PipelineDefinition, type PipelineStep, type StepProgress } from './types';

/** The progress entries of one pipeline step before it runs: one per provider call site (parallel members each have theirs). */
export function progressEntries(step: PipelineStep): StepProgress[] {
  if (isParallelStep(step)) return step.parallel.map((member) => ({ id: member.id, provider: member.provider, status: 'pending' }));
  if (isMapStep(step)) return [{ id: step.id, provider: step.map.step.provider, status: 'pending', items: { done: 0, total: 0 } }];
  if (isApprovalStep(step)) return [{ id: step.id, provider: 'human', status: 'pending' }];
  return [{ id: step.id, provider: step.provider, status: 'pending' }];
}

/** A run's progress before its workflow has decided anything: every step pending, in definition order. */
export const initialProgress = (pipeline: PipelineDefinition): StepProgress[] => pipeline.steps.flatMap(progressEntries);
