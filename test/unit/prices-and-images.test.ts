import { DEFAULT_PRICES, estimateCostUsd, loadPriceTable, priceOf } from '../../src/config/prices';
import { isPublicAddress } from '../../activities/images';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('price table', () => {
  it('prices a model by exact name, else by the longest listed prefix (dated snapshots)', () => {
    expect(priceOf(DEFAULT_PRICES, 'openai', 'gpt-4o-mini')).toEqual({ input: 0.15, output: 0.6 });
    expect(priceOf(DEFAULT_PRICES, 'openai', 'gpt-4o-mini-2024-07-18')).toEqual({ input: 0.15, output: 0.6 });
    expect(priceOf(DEFAULT_PRICES, 'openai', 'gpt-4o-2024-08-06')).toEqual({ input: 2.5, output: 10 });
    expect(priceOf(DEFAULT_PRICES, 'cohere', 'unknown-model')).toBeUndefined();
  });

  it('estimates USD from tokens, and null for an unpriced model', () => {
    expect(estimateCostUsd({ input: 2.5, output: 10 }, 1000, 500)).toBeCloseTo(0.0075, 10);
    expect(estimateCostUsd(undefined, 1000, 500)).toBeNull();
  });

  it('extends the defaults from CHORUS_PRICES_FILE and rejects a malformed one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chorus-prices-'));
    writeFileSync(join(dir, 'prices.json'), JSON.stringify({ cohere: { 'command-x': { input: 1, output: 2 } } }));
    const table = loadPriceTable({ CHORUS_PRICES_FILE: join(dir, 'prices.json') });
    expect(table.cohere['command-x']).toEqual({ input: 1, output: 2 });
    expect(table.openai['gpt-4o-mini']).toEqual(DEFAULT_PRICES.openai['gpt-4o-mini']);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ cohere: { 'command-x': { input: 'cheap' } } }));
    expect(() => loadPriceTable({ CHORUS_PRICES_FILE: join(dir, 'bad.json') })).toThrow(/CHORUS_PRICES_FILE/);
  });
});

describe('image host rules', () => {
  it.each(['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1'])(
    '%s is not public',
    (address) => expect(isPublicAddress(address)).toBe(false),
  );
  it.each(['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111'])('%s is public', (address) => expect(isPublicAddress(address)).toBe(true));
});
