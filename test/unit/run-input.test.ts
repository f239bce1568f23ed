import { checkRunInput } from '../../src/pipeline/run-input';
import type { PipelineDefinition } from '../../src/pipeline/types';
import type { RunStart } from '../../src/pipeline/run-start';
import { runStartLabels } from '../../worker/run-metrics';

const digest = {
  name: 'digest-like',
  steps: [
    { id: 'each', map: { over: 'input.documents', step: { provider: 'cohere', task: 'summarize', prompt: '{{item}} for {{input.audience}}' } } },
    { id: 'all', provider: 'openai', task: 'generate', prompt: '{{steps.each.texts}}' },
  ],
} as PipelineDefinition;

describe('checkRunInput: the one check of a run input, whoever starts the run', () => {
  it('accepts an input with every field the templates read and a short enough list', () => {
    expect(checkRunInput(digest, { documents: ['a', 'b'], audience: 'ops' }, { maxInputBytes: 1000 })).toEqual({ bytes: 40, tooLarge: false, problems: [] });
  });

  it('names each missing field and each map list that is not a list or too long', () => {
    expect(checkRunInput(digest, { documents: 'one', audience: '' }, { maxInputBytes: 1000 }).problems).toEqual([
      { field: 'input.audience', reason: 'required by pipeline "digest-like"' },
      { field: 'input.documents', reason: 'must be a list (step "each" maps over it)' },
    ]);
    expect(checkRunInput(digest, { documents: Array(501).fill('d'), audience: 'ops' }, { maxInputBytes: 1_000_000 }).problems).toEqual([
      { field: 'input.documents', reason: 'must have at most 500 elements' },
    ]);
  });

  it('counts the input as UTF-8 JSON against the cap, and checks nothing else over it', () => {
    const input = { documents: ['é'.repeat(20)] };
    const bytes = Buffer.byteLength(JSON.stringify(input));
    expect(checkRunInput(digest, input, { maxInputBytes: bytes })).toMatchObject({ bytes, tooLarge: false });
    expect(checkRunInput(digest, input, { maxInputBytes: bytes - 1 })).toEqual({
      bytes,
      tooLarge: true,
      problems: [{ field: 'input', reason: `at most ${bytes - 1} bytes as JSON` }],
    });
  });
});

describe('runStartLabels: how the worker labels a run it counts', () => {
  it.each([
    [
      { source: 'named', namedPipeline: 'classic' },
      { source: 'named', pipeline: 'classic' },
    ],
    [{ source: 'adhoc' }, { source: 'adhoc', pipeline: '(adhoc)' }],
    [
      { source: 'rerun', namedPipeline: 'digest' },
      { source: 'rerun', pipeline: 'digest' },
    ],
    [
      { source: 'schedule', namedPipeline: 'classic' },
      { source: 'schedule', pipeline: 'classic' },
    ],
    [
      { source: 'made-up', namedPipeline: 'classic' },
      { source: '(unknown)', pipeline: '(unknown)' },
    ],
    [undefined, { source: '(unknown)', pipeline: '(unknown)' }],
  ])('%j → %j', (start, labels) => {
    expect(runStartLabels(start as RunStart | undefined)).toEqual(labels);
  });
});
