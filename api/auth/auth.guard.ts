import { timingSafeEqual } from 'node:crypto';
import { ForbiddenException, Inject, Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { ApiSettings } from '../../src/config/api';
import { keyDigest, type ApiKeyEntry, type Scope } from '../../src/config/auth';
import { API_SETTINGS } from '../tokens';
import { InvalidTokenError, JwtVerifier } from './jwt-verifier';
import { REQUIRED_SCOPES, type AuthenticatedRequest, type Principal } from './principal';
import { IS_PUBLIC } from './public.decorator';

/** API keys are `chorus_…`; any other bearer token is taken for a JWT. */
const API_KEY_PREFIX = 'chorus_';

/**
 * Authenticates every non-public route (x-api-key, or Authorization: Bearer with an API key or a
 * JWT), then checks the route's scopes: 401 without valid credentials, 403 without the scope.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly keys: { entry: ApiKeyEntry; digest: Buffer }[];
  private readonly jwt?: JwtVerifier;

  constructor(
    private readonly reflector: Reflector,
    @Inject(API_SETTINGS) settings: ApiSettings,
  ) {
    this.keys = settings.auth.apiKeys.map((entry) => ({ entry, digest: Buffer.from(entry.sha256, 'hex') }));
    this.jwt = settings.auth.jwt ? new JwtVerifier(settings.auth.jwt) : undefined;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const principal = await this.authenticate(request);
    const missing = (this.reflector.getAllAndOverride<Scope[]>(REQUIRED_SCOPES, targets) ?? []).filter((scope) => !principal.scopes.has(scope));
    if (missing.length) throw new ForbiddenException(`Missing scope: ${missing.join(', ')}`);
    request.principal = principal;
    return true;
  }

  async authenticate(request: AuthenticatedRequest): Promise<Principal> {
    const apiKey = request.header('x-api-key');
    // Another scheme in Authorization (a proxy's Basic auth) is not Chorus's to judge.
    const bearer = /^Bearer (.+)$/i.exec(request.header('authorization') ?? '')?.[1];
    if (apiKey === undefined && bearer === undefined) {
      throw new UnauthorizedException(this.jwt ? 'Missing credentials: send x-api-key or Authorization: Bearer' : 'Missing x-api-key header');
    }
    // Every credential sent must hold: an invalid bearer token is never ignored because an x-api-key is valid.
    const byKey = apiKey === undefined ? undefined : this.byApiKey(apiKey);
    const byBearer = bearer === undefined ? undefined : await this.byBearer(bearer);
    return (byKey ?? byBearer)!;
  }

  private async byBearer(bearer: string): Promise<Principal> {
    if (bearer.startsWith(API_KEY_PREFIX) || !this.jwt) return this.byApiKey(bearer);
    try {
      return await this.jwt.verify(bearer);
    } catch (error) {
      if (error instanceof InvalidTokenError) throw new UnauthorizedException(error.message);
      throw error;
    }
  }

  private byApiKey(presented: string): Principal {
    const digest = Buffer.from(keyDigest(presented), 'hex');
    // Compare with every key so the time taken does not reveal which one matched.
    const match = this.keys.reduce<ApiKeyEntry | undefined>((found, key) => (timingSafeEqual(key.digest, digest) ? key.entry : found), undefined);
    if (!match) throw new UnauthorizedException('Invalid API key');
    return { kind: 'api-key', id: match.id, tenant: match.tenant, scopes: new Set(match.scopes) };
  }
}
