import { ConflictException } from '@nestjs/common';
import type { FieldProblem } from '../../src/pipeline/validate';

/**
 * A valid request that the resource's current state refuses (a reset to a failed step of a run that
 * has none): a 409 that still names the field and why, as a 400 does.
 */
export function stateConflict(problems: FieldProblem[]): ConflictException {
  return new ConflictException({
    statusCode: 409,
    error: 'Conflict',
    message: problems.map(({ field, reason }) => `${field}: ${reason}`).join('; '),
    errors: problems,
  });
}
