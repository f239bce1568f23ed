import { initialProgress } from '../../src/pipeline/progress';
import type { PipelineDefinition } from '../../src/pipeline/types';

describe('initialProgress (a run that has decided nothing yet)', () => {
  it('lists every call site pending, in definition order: parallel members each, a map once with no items, an approval as human', () => {
    const pipeline = {
      name: 'shapes',
      steps: [
        { id: 'one', provider: 'openai', task: 'generate', prompt: 'x' },
        {
          id: 'both',
          parallel: [
            { id: 'left', provider: 'cohere', task: 'generate', prompt: 'x' },
            { id: 'right', provider: 'gemini', task: 'generate', prompt: 'x' },
          ],
        },
        { id: 'each', map: { over: 'input.list', step: { provider: 'gemini', task: 'summarize', prompt: '{{item}}' } } },
        { id: 'ok', approval: { prompt: 'Go?' } },
        { id: 'maybe', when: false, provider: 'openai', task: 'generate', prompt: 'x' },
      ],
    } as PipelineDefinition;
    expect(initialProgress(pipeline)).toEqual([
      { id: 'one', provider: 'openai', status: 'pending' },
      { id: 'left', provider: 'cohere', status: 'pending' },
      { id: 'right', provider: 'gemini', status: 'pending' },
      { id: 'each', provider: 'gemini', status: 'pending', items: { done: 0, total: 0 } },
      { id: 'ok', provider: 'human', status: 'pending' },
      { id: 'maybe', provider: 'openai', status: 'pending' },
    ]);
  });
});
