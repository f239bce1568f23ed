import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { isValidTenant, SCOPES, type JwtSettings, type Scope } from '../../src/config/auth';
import type { Principal } from './principal';

export class InvalidTokenError extends Error {}

/** Verifies OAuth2/OIDC bearer tokens against the issuer's JWKS (signature, issuer, audience, expiry). */
export class JwtVerifier {
  private readonly keys: ReturnType<typeof createRemoteJWKSet>;

  constructor(private readonly settings: JwtSettings) {
    this.keys = createRemoteJWKSet(new URL(settings.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30_000 });
  }

  async verify(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys, { issuer: this.settings.issuer, audience: this.settings.audience }));
    } catch (error) {
      throw new InvalidTokenError(`Invalid bearer token: ${(error as Error).message}`);
    }
    const tenant = payload[this.settings.tenantClaim];
    if (!isValidTenant(tenant)) throw new InvalidTokenError(`Invalid bearer token: no valid "${this.settings.tenantClaim}" claim`);
    const claimed = payload[this.settings.scopesClaim];
    const scopeList = typeof claimed === 'string' ? claimed.split(' ') : Array.isArray(claimed) ? claimed : [];
    const scopes = new Set(scopeList.filter((scope): scope is Scope => (SCOPES as readonly string[]).includes(scope as string)));
    return { kind: 'jwt', id: `jwt:${payload.sub ?? 'unknown'}`, tenant, scopes };
  }
}
