import { ForbiddenException, Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { ApiSettings } from '../../src/config/api';
import { AuthGuard } from '../auth/auth.guard';
import type { AuthenticatedRequest } from '../auth/principal';
import { API_SETTINGS } from '../tokens';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * Operators with workflows:admin may use the codec. In development only (CHORUS_CODEC_TRUST_LOOPBACK_UI),
 * the dev server's Web UI, which cannot send credentials, may too: from a configured UI origin, over loopback.
 */
@Injectable()
export class CodecAccessGuard implements CanActivate {
  constructor(
    private readonly auth: AuthGuard,
    @Inject(API_SETTINGS) private readonly settings: ApiSettings,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const origin = request.header('origin');
    const hasCredentials = Boolean(request.header('x-api-key') ?? request.header('authorization'));
    if (
      !hasCredentials &&
      this.settings.codec.trustLoopbackUi &&
      origin &&
      this.settings.codec.uiOrigins.includes(origin) &&
      LOOPBACK.has(request.socket.remoteAddress ?? '')
    ) {
      return true;
    }
    const principal = await this.auth.authenticate(request);
    if (!principal.scopes.has('workflows:admin')) throw new ForbiddenException('Missing scope: workflows:admin');
    request.principal = principal;
    return true;
  }
}
