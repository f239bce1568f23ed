import { BadRequestException } from '@nestjs/common';

/** One rejected field and why; every 400 Chorus sends lists these. */
export interface FieldProblem {
  field: string;
  reason: string;
}

export function badRequest(problems: FieldProblem[]): BadRequestException {
  return new BadRequestException({
    statusCode: 400,
    error: 'Bad Request',
    message: problems.map(({ field, reason }) => `${field}: ${reason}`).join('; '),
    errors: problems,
  });
}
