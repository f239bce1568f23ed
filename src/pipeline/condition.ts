import { readPath, templatePaths, TemplateError } from './template';

/**
 * `when` conditions: a safe subset of JSONLogic (https://jsonlogic.com), e.g.
 * `{ "or": [ { "==": [ { "var": "steps.mood.data.label" }, "negative" ] }, { "<": [ { "var": "steps.mood.data.score" }, 0.6 ] } ] }`.
 * Pure data evaluated by a closed set of operators: no code runs, nothing outside `{ input, steps }` is read.
 */
export type Condition = boolean | { [operator: string]: unknown };

type Evaluator = (args: unknown[], data: unknown) => unknown;

const truthy = (value: unknown) => (Array.isArray(value) ? value.length > 0 : Boolean(value));
const compare = (test: (a: number | string, b: number | string) => boolean) => (args: unknown[], data: unknown) => {
  const values = args.map((arg) => evaluate(arg, data)) as (number | string)[];
  // Three arguments mean "between": a < b < c.
  return values.slice(1).every((value, index) => test(values[index], value));
};

const OPERATORS: Record<string, { arity: [number, number]; evaluate: Evaluator }> = {
  var: { arity: [1, 2], evaluate: ([path, fallback], data) => readPath(data, String(path)) ?? fallback ?? null },
  '==': { arity: [2, 2], evaluate: ([a, b], data) => evaluate(a, data) === evaluate(b, data) },
  '!=': { arity: [2, 2], evaluate: ([a, b], data) => evaluate(a, data) !== evaluate(b, data) },
  '<': { arity: [2, 3], evaluate: compare((a, b) => a < b) },
  '<=': { arity: [2, 3], evaluate: compare((a, b) => a <= b) },
  '>': { arity: [2, 2], evaluate: compare((a, b) => a > b) },
  '>=': { arity: [2, 2], evaluate: compare((a, b) => a >= b) },
  and: { arity: [1, Infinity], evaluate: (args, data) => args.every((arg) => truthy(evaluate(arg, data))) },
  or: { arity: [1, Infinity], evaluate: (args, data) => args.some((arg) => truthy(evaluate(arg, data))) },
  '!': { arity: [1, 1], evaluate: ([arg], data) => !truthy(evaluate(arg, data)) },
  '!!': { arity: [1, 1], evaluate: ([arg], data) => truthy(evaluate(arg, data)) },
  in: {
    arity: [2, 2],
    evaluate: ([needle, haystack], data) => {
      const list = evaluate(haystack, data);
      const value = evaluate(needle, data);
      return Array.isArray(list) ? list.includes(value) : typeof list === 'string' && typeof value === 'string' && list.includes(value);
    },
  },
};

const isOperation = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 1;

function operation(value: Record<string, unknown>): [string, unknown[]] {
  const [operator] = Object.keys(value);
  const raw = value[operator];
  return [operator, Array.isArray(raw) ? raw : [raw]];
}

function evaluate(expression: unknown, data: unknown): unknown {
  if (Array.isArray(expression)) return expression.map((element) => evaluate(element, data));
  if (!isOperation(expression)) return expression;
  const [operator, args] = operation(expression);
  if (!Object.prototype.hasOwnProperty.call(OPERATORS, operator)) throw new TemplateError(`unknown condition operator "${operator}"`);
  return OPERATORS[operator].evaluate(args, data);
}

export function evaluateCondition(condition: Condition, data: { input: unknown; steps: unknown }): boolean {
  return truthy(evaluate(condition, data));
}

/** Problems of a condition, each with a JSON path below `at`; also lists the paths it reads. */
export function inspectCondition(condition: unknown, at: string): { problems: { path: string; message: string }[]; reads: string[] } {
  const problems: { path: string; message: string }[] = [];
  const reads: string[] = [];
  const visit = (expression: unknown, path: string) => {
    if (Array.isArray(expression)) return expression.forEach((element, index) => visit(element, `${path}[${index}]`));
    if (typeof expression !== 'object' || expression === null) return;
    if (!isOperation(expression)) {
      problems.push({ path, message: 'an operation is an object with exactly one operator key' });
      return;
    }
    const [operator, args] = operation(expression);
    const spec = OPERATORS[operator];
    if (!Object.prototype.hasOwnProperty.call(OPERATORS, operator)) {
      problems.push({ path, message: `unknown operator "${operator}"; allowed: ${Object.keys(OPERATORS).join(', ')}` });
      return;
    }
    if (args.length < spec.arity[0] || args.length > spec.arity[1]) {
      problems.push({ path: `${path}.${operator}`, message: `"${operator}" takes ${spec.arity.join(' to ')} arguments` });
      return;
    }
    if (operator === 'var') {
      try {
        reads.push(...templatePaths(`{{${String(args[0])}}}`));
      } catch (error) {
        problems.push({ path: `${path}.var`, message: (error as Error).message });
      }
      return;
    }
    args.forEach((arg, index) => visit(arg, `${path}.${operator}[${index}]`));
  };
  visit(condition, at);
  return { problems, reads };
}
