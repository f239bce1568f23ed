import { callHealth, createLocalBreakerStore } from '../../activities/provider-breaker';
import { FailureType } from '../../src/pipeline/failures';
import { breakerScenarios, SCENARIO_SETTINGS } from '../helpers/breaker-scenarios';

breakerScenarios('in-process store', () => {
  let now = 1_000_000;
  return {
    store: (() => {
      // Stores of one process share nothing, so "another worker" is the same store here.
      const store = createLocalBreakerStore(SCENARIO_SETTINGS, () => now);
      return async () => store;
    })(),
    advance: async (ms) => {
      now += ms;
    },
  };
});

describe('what counts against a provider', () => {
  it('reads failures that say the provider is unwell as unhealthy, answers as healthy, the rest as neutral', () => {
    expect(callHealth(undefined)).toBe('healthy');
    for (const type of [
      FailureType.ProviderUnavailable,
      FailureType.ProviderTimeout,
      FailureType.ProviderNetworkError,
      FailureType.ProviderMalformedResponse,
      FailureType.ProviderGenerationFailed,
    ])
      expect(callHealth(type)).toBe('unhealthy');
    for (const type of [FailureType.ProviderAuthFailed, FailureType.ProviderRejectedRequest, FailureType.ProviderOutputTruncated])
      expect(callHealth(type)).toBe('healthy');
    for (const type of [FailureType.ProviderRateLimited, FailureType.ModelLacksCapability, FailureType.ImageUnavailable, 'Error'])
      expect(callHealth(type)).toBe('neutral');
  });
});
