import { createCallProvider, type ActivityDeps } from './call-provider';

/** All Chorus activities, built from their dependencies so tests can inject fakes without module mocks. */
export function createActivities(deps: ActivityDeps) {
  return { callProvider: createCallProvider(deps) };
}

export type ChorusActivities = ReturnType<typeof createActivities>;
export type { ActivityDeps } from './call-provider';
export type { ProviderStepInput } from './call-provider';
