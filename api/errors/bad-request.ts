import { BadRequestException } from '@nestjs/common';
import type { FieldProblem } from '../../src/pipeline/validate';

export type { FieldProblem };

/** Every 400 Chorus sends lists each rejected field and why. */
export function badRequest(problems: FieldProblem[]): BadRequestException {
  return new BadRequestException({
    statusCode: 400,
    error: 'Bad Request',
    message: problems.map(({ field, reason }) => `${field}: ${reason}`).join('; '),
    errors: problems,
  });
}
