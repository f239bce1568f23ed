import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { ApiSettings } from '../../src/config/api';
import { API_SETTINGS } from '../tokens';
import { principalFor, type AuthenticatedRequest } from './principal';
import { IS_PUBLIC } from './public.decorator';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Requires a configured `x-api-key`. Keys are compared as SHA-256 digests in constant time. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly keyDigests: Buffer[];

  constructor(
    private readonly reflector: Reflector,
    @Inject(API_SETTINGS) settings: ApiSettings,
  ) {
    this.keyDigests = settings.apiKeys.map(digest);
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const presented = request.header('x-api-key');
    if (!presented) throw new UnauthorizedException('Missing x-api-key header');
    const presentedDigest = digest(presented);
    // Check every key so the time taken does not reveal which one matched.
    const matches = this.keyDigests.reduce((found, key) => timingSafeEqual(key, presentedDigest) || found, false);
    if (!matches) throw new UnauthorizedException('Invalid API key');
    request.principal = principalFor(presented);
    return true;
  }
}
