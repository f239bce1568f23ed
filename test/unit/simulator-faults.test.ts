import { parseDirectives, parseFaultRates, pickFault, seededRandom } from '../../simulator/faults';
import { judgeSentiment, simulateCompletion } from '../../simulator/model';
import { streamPieces } from '../../simulator/server';

describe('simulator fault injection', () => {
  it('parses fault rates', () => {
    expect(parseFaultRates('503=0.2, 429=0.1,hang=0.05,malformed=0.01')).toEqual([
      { fault: { kind: 'status', status: 503 }, rate: 0.2 },
      { fault: { kind: 'status', status: 429 }, rate: 0.1 },
      { fault: { kind: 'hang' }, rate: 0.05 },
      { fault: { kind: 'malformed' }, rate: 0.01 },
    ]);
  });

  it.each(['503', '503=x', '200=0.1', '503=0.7,429=0.5', 'boom=0.1'])('rejects "%s"', (spec) => {
    expect(() => parseFaultRates(spec)).toThrow();
  });

  it('draws the same faults for the same seed, at about the configured rate', () => {
    const rates = parseFaultRates('503=0.2');
    const draw = (seed: number) => {
      const random = seededRandom(seed);
      return Array.from({ length: 2000 }, () => pickFault(rates, random)?.kind ?? 'ok');
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    const faults = draw(7).filter((kind) => kind !== 'ok').length;
    expect(faults / 2000).toBeGreaterThan(0.17);
    expect(faults / 2000).toBeLessThan(0.23);
  });

  it('parses prompt directives scoped to a provider, with counts and settings', () => {
    expect(parseDirectives('text [[sim:cohere:503x2]] more [[sim:429x1,retry-after=3]] [[sim:gemini,latency=50]]')).toEqual([
      { provider: 'cohere', fault: { kind: 'status', status: 503 }, times: 2 },
      { fault: { kind: 'status', status: 429 }, times: 1, retryAfterSeconds: 3 },
      { provider: 'gemini', latencyMs: 50 },
    ]);
    expect(parseDirectives('[[sim:hang]] [[sim:nonsense!]]')).toEqual([{ fault: { kind: 'hang' }, times: undefined, provider: undefined }]);
  });

  it('parses the mid-stream faults and the spacing of streamed events', () => {
    expect(parseDirectives('[[sim:openai:cutx1,chunk-ms=40]] [[sim:stall]]')).toEqual([
      { provider: 'openai', fault: { kind: 'cut' }, times: 1, chunkDelayMs: 40 },
      { fault: { kind: 'stall' }, times: undefined, provider: undefined },
    ]);
    expect(parseFaultRates('cut=0.01,stall=0.02').map(({ fault }) => fault.kind)).toEqual(['cut', 'stall']);
  });
});

describe('simulated model', () => {
  it('streams a text word by word: the pieces concatenate to the text, whitespace kept', () => {
    const text = ' Durable  runs\nsurvive crashes. ';
    expect(streamPieces(text)).toEqual([' Durable  ', 'runs\n', 'survive ', 'crashes. ']);
    expect(streamPieces(text).join('')).toBe(text);
    expect(streamPieces(undefined)).toEqual([]);
  });

  it('answers the same prompt the same way and carries directives downstream', () => {
    const prompt = 'Write about this.\n\nReliable systems [[sim:cohere:503x1]]';
    const answer = simulateCompletion({ prompt, json: false });
    expect(simulateCompletion({ prompt, json: false })).toBe(answer);
    expect(answer).toContain('[[sim:cohere:503x1]]');
  });

  it('summarizes to the first two sentences of the text', () => {
    expect(simulateCompletion({ prompt: 'Summarize the following text.\n\nOne. Two! Three? Four.', json: false })).toBe('One. Two!');
  });

  it('answers JSON sentiment when JSON is requested', () => {
    expect(JSON.parse(simulateCompletion({ prompt: 'Sentiment?\n\nA great, happy success.', json: true }))).toEqual({ label: 'positive', score: 1 });
    expect(judgeSentiment('A terrible crash and a sad loss, but one good thing.')).toEqual({ label: 'negative', score: 0.8 });
    expect(judgeSentiment('Nothing either way.')).toEqual({ label: 'neutral', score: 0.5 });
  });
});
