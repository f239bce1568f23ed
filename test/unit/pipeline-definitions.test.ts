import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { parse as parseYaml } from 'yaml';
import { evaluateCondition, inspectCondition } from '../../src/pipeline/condition';
import { PIPELINE_SCHEMA_PATH, pipelineSchemaText } from '../../tools/export-schema';
import { loadPipelineDirectory, PipelineFileError } from '../../src/pipeline/registry';
import { requiredInputFields, validatePipeline } from '../../src/pipeline/validate';
import { projectRoot } from '../../src/project-root';

const step = (id: string, prompt: string, extra: Record<string, unknown> = {}) => ({ id, provider: 'openai', task: 'generate', prompt, ...extra });
const problemsOf = (definition: unknown) => validatePipeline(definition).problems;

describe('pipeline definition validation', () => {
  it('accepts every shipped pipeline', () => {
    const pipelines = loadPipelineDirectory(join(projectRoot(), 'pipelines'));
    expect([...pipelines.keys()].sort()).toEqual(['classic', 'digest', 'escalate', 'parallel-judge', 'reviewed-post']);
  });

  it.each([
    ['an unknown step reference', { name: 'p', steps: [step('a', '{{steps.nope.text}}')] }, '$.steps[0].prompt', /unknown step "nope"/],
    [
      'a forward reference (cycle)',
      { name: 'p', steps: [step('a', '{{steps.b.text}}'), step('b', '{{steps.a.text}}')] },
      '$.steps[0].prompt',
      /has not finished.*cycle or forward reference/,
    ],
    ['a self reference', { name: 'p', steps: [step('a', '{{steps.a.text}}')] }, '$.steps[0].prompt', /cycle/],
    ['an unknown provider', { name: 'p', steps: [{ ...step('a', 'x'), provider: 'acme' }] }, '$.steps[0].provider', /openai|cohere|gemini/],
    ['a bad template', { name: 'p', steps: [step('a', 'Hi {{ input.name + 1 }}')] }, '$.steps[0].prompt', /not a dotted path/],
    [
      'a bad JSON Schema',
      { name: 'p', steps: [step('a', 'x', { task: 'extract', schema: { type: 'nonsense' } })] },
      '$.steps[0].schema',
      /not a valid JSON Schema/,
    ],
    [
      'an unknown budget policy',
      { name: 'p', steps: [step('a', 'x')], budget: { maxCostUsd: 1, onExceeded: 'wait' } },
      '$.budget.onExceeded',
      /fail|await-approval/,
    ],
    [
      'a budget approval timeout without await-approval',
      { name: 'p', steps: [step('a', 'x')], budget: { maxCostUsd: 1, approvalTimeout: '1h' } },
      '$.budget.approvalTimeout',
      /approvalTimeout needs onExceeded: await-approval/,
    ],
    [
      'a budget approval timeout that is not a duration',
      { name: 'p', steps: [step('a', 'x')], budget: { maxCostUsd: 1, onExceeded: 'await-approval', approvalTimeout: 'an hour' } },
      '$.budget.approvalTimeout',
      /expected a duration/,
    ],
    [
      'a retry budget that is not a duration',
      { name: 'p', steps: [step('a', 'x', { retry: { budget: 'ten minutes' } })] },
      '$.steps[0].retry.budget',
      /expected a duration/,
    ],
    ['a duplicate step id', { name: 'p', steps: [step('a', 'x'), step('a', 'y')] }, '$.steps[1].id', /duplicate step id "a"/],
    ['classify without labels', { name: 'p', steps: [step('a', 'x', { task: 'classify' })] }, '$.steps[0].labels', /required when task is "classify"/],
    ['labels on a generate step', { name: 'p', steps: [step('a', 'x', { labels: ['a', 'b'] })] }, '$.steps[0].labels', /only allowed when task is "classify"/],
    ['an unknown field', { name: 'p', steps: [step('a', 'x', { topK: 2 })] }, '$.steps[0]', /topK/],
    ['a bad duration', { name: 'p', steps: [step('a', 'x', { timeout: { startToClose: 'soon' } })] }, '$.steps[0].timeout.startToClose', /duration/],
    [
      'a sibling read inside a parallel group',
      { name: 'p', steps: [{ id: 'g', parallel: [step('a', 'x'), step('b', '{{steps.a.text}}')] }] },
      '$.steps[0].parallel[1].prompt',
      /has not finished/,
    ],
    ['a condition with an unknown operator', { name: 'p', steps: [step('a', 'x', { when: { eval: ['1'] } })] }, '$.steps[0].when', /unknown operator "eval"/],
    [
      'a condition reading a later step',
      { name: 'p', steps: [step('a', 'x', { when: { var: 'steps.b.text' } }), step('b', 'y')] },
      '$.steps[0].when',
      /has not finished/,
    ],
    [
      'a map over something that is not a path',
      { name: 'p', steps: [{ id: 'm', map: { over: 'documents', step: { provider: 'cohere', task: 'summarize', prompt: '{{item}}' } } }] },
      '$.steps[0].map.over',
      /must start with input/,
    ],
    ['an output reading an unknown step', { name: 'p', steps: [step('a', 'x')], output: { result: 'steps.b.text' } }, '$.output.result', /unknown step "b"/],
    ['a prompt reading item outside a map', { name: 'p', steps: [step('a', '{{item}}')] }, '$.steps[0].prompt', /must start with input/],
    ['allowTruncated that is not a boolean', { name: 'p', steps: [step('a', 'x', { allowTruncated: 'yes' })] }, '$.steps[0].allowTruncated', /boolean/],
    [
      'allowTruncated on a structured task',
      { name: 'p', steps: [step('a', 'x', { task: 'sentiment', allowTruncated: true })] },
      '$.steps[0].allowTruncated',
      /not allowed when task is "sentiment"/,
    ],
    [
      'allowTruncated on an extract map element',
      {
        name: 'p',
        steps: [{ id: 'm', map: { over: 'input.docs', step: { provider: 'cohere', task: 'extract', schema: {}, prompt: '{{item}}', allowTruncated: true } } }],
      },
      '$.steps[0].map.step.allowTruncated',
      /not allowed when task is "extract"/,
    ],
  ])('rejects %s, naming its JSON path', (_case, definition, field, reason) => {
    expect(problemsOf(definition)).toContainEqual({ field, reason: expect.stringMatching(reason) });
  });

  it('accepts allowTruncated on text tasks, and the exported schema describes it', () => {
    expect(
      problemsOf({
        name: 'p',
        steps: [step('a', 'x', { allowTruncated: true, maxOutputTokens: 50 }), step('b', 'y', { task: 'summarize', allowTruncated: false })],
      }),
    ).toEqual([]);
    expect(pipelineSchemaText()).toContain('"allowTruncated"');
  });

  it('lists every problem at once', () => {
    const problems = problemsOf({ name: 'p', steps: [step('a', '{{steps.x.text}}'), step('a', '{{ bad }} {{input.}}')] });
    expect(problems.map((problem) => problem.field)).toEqual(expect.arrayContaining(['$.steps[0].prompt', '$.steps[1].id']));
  });

  it('lets a map template read item and index, and a later step read the map', () => {
    const definition = {
      name: 'p',
      steps: [
        { id: 'each', map: { over: 'input.docs', concurrency: 2, step: { provider: 'cohere', task: 'summarize', prompt: '{{index}}: {{item}}' } } },
        step('all', '{{steps.each.texts}}'),
      ],
    };
    expect(problemsOf(definition)).toEqual([]);
    expect(requiredInputFields(validatePipeline(definition).pipeline!)).toEqual(['docs']);
  });
});

describe('conditions (JSONLogic subset)', () => {
  const data = { input: { tier: 'gold' }, steps: { mood: { data: { label: 'negative', score: 0.4 } } } };

  it.each([
    [{ '==': [{ var: 'steps.mood.data.label' }, 'negative'] }, true],
    [{ '<': [{ var: 'steps.mood.data.score' }, 0.6] }, true],
    [{ and: [{ '>=': [{ var: 'steps.mood.data.score' }, 0.5] }, true] }, false],
    [{ or: [false, { in: [{ var: 'input.tier' }, ['gold', 'platinum']] }] }, true],
    [{ '!': { var: 'steps.missing.text' } }, true],
    [{ '<': [0, { var: 'steps.mood.data.score' }, 1] }, true],
    [false, false],
  ])('%j → %s', (condition, expected) => {
    expect(evaluateCondition(condition, data)).toBe(expected);
  });

  it('reports what a condition reads and rejects what it cannot run', () => {
    expect(inspectCondition({ or: [{ var: 'input.a' }, { '==': [{ var: 'steps.b.data.label' }, 'x'] }] }, '$.when').reads).toEqual([
      'input.a',
      'steps.b.data.label',
    ]);
    expect(inspectCondition({ var: '__proto__.polluted' }, '$.when').problems[0].message).toMatch(/forbidden|dotted path/);
    expect(inspectCondition({ '==': [1] }, '$.when').problems[0]).toEqual({ path: '$.when.==', message: '"==" takes 2 to 2 arguments' });
  });
});

describe('pipeline files', () => {
  it('stops with the file and JSON path of every bad definition', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chorus-pipelines-'));
    writeFileSync(join(dir, 'good.yaml'), 'name: good\nsteps:\n  - { id: a, provider: openai, task: generate, prompt: "{{input.x}}" }\n');
    writeFileSync(join(dir, 'bad.yaml'), 'name: bad\nsteps:\n  - { id: a, provider: openai, task: generate, prompt: "{{steps.zzz.text}}" }\n');
    writeFileSync(join(dir, 'broken.json'), '{ "name": ');
    const error = (() => {
      try {
        loadPipelineDirectory(dir);
      } catch (caught) {
        return caught as PipelineFileError;
      }
      throw new Error('expected the load to fail');
    })();
    expect(error).toBeInstanceOf(PipelineFileError);
    expect(error.message).toContain('bad.yaml: $.steps[0].prompt: "steps.zzz.text" reads unknown step "zzz"');
    expect(error.message).toContain('broken.json: $: cannot be parsed');
    expect(error.message).not.toContain('good.yaml');
  });

  it('ships an up-to-date JSON Schema that accepts every shipped pipeline', () => {
    expect(readFileSync(PIPELINE_SCHEMA_PATH, 'utf8')).toBe(pipelineSchemaText());
    const validate = new Ajv2020({ strict: false }).compile(JSON.parse(pipelineSchemaText()));
    for (const file of ['classic.yaml', 'parallel-judge.yaml', 'escalate.yaml', 'digest.yaml', 'reviewed-post.yaml']) {
      expect(validate(parseYaml(readFileSync(join(projectRoot(), 'pipelines', file), 'utf8')))).toBe(true);
    }
  });
});
