import { readPath, renderTemplate, templatePaths, TemplateError } from '../../src/pipeline/template';

describe('prompt templates', () => {
  const context = { input: { topic: 'durability', tags: ['a', 'b'] }, steps: { draft: { text: 'A draft.' } } };

  it('replaces dotted paths with their values', () => {
    expect(renderTemplate('On {{ input.topic }}: {{steps.draft.text}}', context)).toBe('On durability: A draft.');
  });

  it('inserts a list of texts one per line, and other values as JSON', () => {
    expect(renderTemplate('Tags:\n{{input.tags}}', context)).toBe('Tags:\n- a\n- b');
    expect(renderTemplate('{{input.meta}}', { input: { meta: { n: 1 } } })).toBe('{"n":1}');
  });

  it('fails on a missing value instead of sending an empty prompt', () => {
    expect(() => renderTemplate('{{steps.summary.text}}', context)).toThrow(TemplateError);
  });

  it.each(['{{ input.topic + 1 }}', '{{ constructor.name }}', '{{input.__proto__}}', '{{ process.exit() }}'])(
    'rejects %s: only plain paths, never code or prototype access',
    (template) => {
      expect(() => renderTemplate(template, context)).toThrow(TemplateError);
    },
  );

  it('reads only own properties', () => {
    expect(readPath({ input: {} }, 'input.toString')).toBeUndefined();
  });

  it('lists the paths a template reads', () => {
    expect(templatePaths('{{input.a}} and {{ steps.b.text }}')).toEqual(['input.a', 'steps.b.text']);
  });
});
