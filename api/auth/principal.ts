import { createHash } from 'node:crypto';
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';

/** Who is calling: a stable, non-secret ID of the API key, used to scope idempotency keys. */
export interface Principal {
  keyId: string;
}

export function principalFor(apiKey: string): Principal {
  return { keyId: `key_${createHash('sha256').update(apiKey).digest('hex').slice(0, 16)}` };
}

export type AuthenticatedRequest = Request & { principal?: Principal };

/** The authenticated caller of the current request (set by ApiKeyGuard). */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal) throw new Error('CurrentPrincipal used on a route without authentication');
  return principal;
});
