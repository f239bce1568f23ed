/** The duration strings a definition (and the config) accepts: a number and one unit, e.g. 500ms, 30s, 1.5m. */
export const DURATION_PATTERN = /^\d+(\.\d+)?(ms|s|m|h|d)$/;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Milliseconds of a duration string. Pure, so workflows can use it; the same arithmetic as the
 * `ms` package Temporal applies to duration strings, for the subset DURATION_PATTERN admits.
 */
export function durationMs(duration: string): number {
  const match = DURATION_PATTERN.exec(duration);
  if (!match) throw new TypeError(`Invalid duration "${duration}": expected a number and a unit such as 500ms, 30s or 2m`);
  const unit = match[2];
  return Number(duration.slice(0, -unit.length)) * UNIT_MS[unit];
}
