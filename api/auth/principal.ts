import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import type { Scope } from '../../src/config/auth';

/** Who is calling, after authentication: an API key or a JWT subject, its tenant and scopes. */
export interface Principal {
  kind: 'api-key' | 'jwt';
  /** Non-secret identity: the key's configured id, or the token's subject. */
  id: string;
  tenant: string;
  scopes: ReadonlySet<Scope>;
}

export type AuthenticatedRequest = Request & { principal?: Principal };

/** The authenticated caller of the current request (set by AuthGuard). */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal) throw new Error('CurrentPrincipal used on a route without authentication');
  return principal;
});

export const REQUIRED_SCOPES = 'chorus:requiredScopes';
/** The scopes a route needs; a caller without one of them gets 403. */
export const RequireScopes = (...scopes: Scope[]) => SetMetadata(REQUIRED_SCOPES, scopes);
