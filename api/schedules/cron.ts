/**
 * Checks a standard five-field cron expression (minute hour day-of-month month day-of-week, as
 * Temporal reads it) or a macro such as `@daily`, so a bad one is a 400 naming the field instead of
 * an error from Temporal. Returns the reason it is invalid, or undefined when it is valid.
 */
/** The lexical shape of an expression, for the OpenAPI document: a macro or five fields of values, names, ranges, steps and lists. */
const FIELD_SHAPE = '[0-9A-Za-z*?]+(?:-[0-9A-Za-z]+)?(?:/[0-9]+)?(?:,[0-9A-Za-z*?]+(?:-[0-9A-Za-z]+)?(?:/[0-9]+)?)*';
export const CRON_SHAPE = new RegExp(`^(?:@[a-z]+|${FIELD_SHAPE}(?: ${FIELD_SHAPE}){4})$`);

const MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface CronField {
  name: string;
  min: number;
  max: number;
  /** Names accepted for values, the first meaning `min`. */
  names?: string[];
}

const FIELDS: CronField[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  // 7 is Sunday too, as in most crons.
  { name: 'day of week', min: 0, max: 7, names: DAYS },
];

function valueOf(token: string, field: CronField): number | undefined {
  if (/^\d{1,2}$/.test(token)) return Number(token);
  const index = field.names?.indexOf(token.toUpperCase()) ?? -1;
  return index >= 0 ? field.min + index : undefined;
}

function itemProblem(item: string, field: CronField): string | undefined {
  const [range, step, ...rest] = item.split('/');
  if (rest.length || range === '') return `"${item}" is not a valid ${field.name}`;
  if (step !== undefined && !(/^\d{1,2}$/.test(step) && Number(step) > 0)) return `step "${step}" of the ${field.name} must be a positive number`;
  if (range === '*' || range === '?') return undefined;
  const bounds = range.split('-');
  if (bounds.length > 2) return `"${item}" is not a valid ${field.name}`;
  const values = bounds.map((token) => valueOf(token, field));
  for (const [i, value] of values.entries()) {
    if (value === undefined || value < field.min || value > field.max) return `${field.name} "${bounds[i]}" must be ${field.min}-${field.max}`;
  }
  if (values.length === 2 && values[0]! > values[1]!) return `range "${range}" of the ${field.name} is backwards`;
  return undefined;
}

export function cronProblem(expression: string): string | undefined {
  const trimmed = expression.trim();
  if (trimmed.startsWith('@'))
    return MACROS.has(trimmed.toLowerCase()) ? undefined : `unknown macro "${trimmed}"; use ${[...MACROS].join(', ')} or five fields`;
  const parts = trimmed.split(/\s+/);
  if (parts.length !== FIELDS.length) return `must have 5 fields (minute hour day-of-month month day-of-week), not ${parts.length}`;
  for (const [i, part] of parts.entries()) {
    for (const item of part.split(',')) {
      const problem = itemProblem(item, FIELDS[i]!);
      if (problem) return problem;
    }
  }
  return undefined;
}
