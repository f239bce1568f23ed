/**
 * Prompt templates: `{{ input.topic }}` or `{{ steps.draft.text }}` is replaced by the value at that
 * path. Only dotted paths are allowed (no expressions), so a template can never run code.
 */
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const PATH = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/;
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

/** The paths a template reads, in order of appearance; throws on a placeholder that is not a path. */
export function templatePaths(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((match) => parsePath(match[1]).join('.'));
}

function parsePath(raw: string): string[] {
  if (!PATH.test(raw)) {
    throw new TemplateError(`"{{${raw}}}" is not a dotted path such as input.topic or steps.draft.text`);
  }
  const segments = raw.split('.');
  if (segments.some((segment) => FORBIDDEN_SEGMENTS.has(segment))) {
    throw new TemplateError(`"{{${raw}}}" reads a forbidden property`);
  }
  return segments;
}

/** The value at a dotted path, reading own properties only; undefined when any segment is missing. */
export function readPath(context: unknown, path: string): unknown {
  let current: unknown = context;
  for (const segment of parsePath(path)) {
    if (current === null || typeof current !== 'object' || !Object.prototype.hasOwnProperty.call(current, segment)) {
      return undefined;
    }
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  // A list of texts (e.g. a map step's answers) reads best as one item per line.
  if (Array.isArray(value) && value.every((element) => typeof element === 'string')) return value.map((element) => `- ${element}`).join('\n');
  return JSON.stringify(value);
}

/** Renders a template; lists of texts become lines, other objects JSON; a missing value is an error. */
export function renderTemplate(template: string, context: Record<string, unknown>): string {
  return template.replace(PLACEHOLDER, (_placeholder, raw: string) => {
    const value = readPath(context, raw);
    if (value === undefined || value === null) {
      throw new TemplateError(`"{{${raw}}}" has no value`);
    }
    return asText(value);
  });
}
