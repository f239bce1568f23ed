import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';

/** A UTC day, YYYY-MM-DD. */
export const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

export class UsageQuery {
  @ApiPropertyOptional({
    description: "First UTC day of the period (YYYY-MM-DD). Default: the first day of `to`'s month.",
    example: '2026-12-01',
    pattern: DAY_PATTERN.source,
  })
  @IsOptional()
  @Matches(DAY_PATTERN, { message: 'from must be a UTC day, YYYY-MM-DD' })
  from?: string;

  @ApiPropertyOptional({
    description: 'Last UTC day of the period, included (YYYY-MM-DD); at most 366 days after `from`. Default: today.',
    example: '2026-12-02',
    pattern: DAY_PATTERN.source,
  })
  @IsOptional()
  @Matches(DAY_PATTERN, { message: 'to must be a UTC day, YYYY-MM-DD' })
  to?: string;
}
