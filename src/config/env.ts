import { z } from 'zod';

export type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses environment variables with a schema keyed by variable name; the error names every bad key. */
export function parseEnv<Shape extends z.ZodRawShape>(shape: Shape, env: Env): z.infer<z.ZodObject<Shape>> {
  const blankAsMissing = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''));
  const parsed = z.object(shape).safeParse(blankAsMissing);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}

/** Interface the API, the simulator and the dev server bind to unless CHORUS_BIND_HOST says otherwise. */
export const DEFAULT_BIND_HOST = '127.0.0.1';

export const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
export const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const FLAG_VALUES = ['true', 'false', '1', '0'] as const;
const isTrue = (value: string) => value === 'true' || value === '1';
export const flag = (fallback: boolean) =>
  z
    .enum(FLAG_VALUES)
    .default(fallback ? 'true' : 'false')
    .transform(isTrue);
/** A flag whose absence means something of its own (the reader picks a default by context). */
export const optionalFlag = () => z.enum(FLAG_VALUES).transform(isTrue).optional();
export const hostPort = () => z.string().regex(/^[^\s:]+:\d+$/, 'expected host:port');
export const url = () => z.url({ protocol: /^https?$/ });
/** CHORUS_REDIS_URL: the store API instances share rate limits in, and workers share provider pacing in. */
export const redisUrl = () =>
  z
    .string()
    .regex(/^rediss?:\/\//, 'expected redis://host:port')
    .optional();
export const commaList = () =>
  z.string().transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  );
