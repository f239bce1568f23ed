import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { badRequest, type FieldProblem } from './errors/bad-request';

function problemsOf(errors: ValidationError[], parent = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((reason) => ({ field, reason }));
    return [...own, ...problemsOf(error.children ?? [], field)];
  });
}

/** Rejects unknown fields and wrong types with a 400 that names each field and why. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => badRequest(problemsOf(errors)),
  });
}
