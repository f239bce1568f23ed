import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, parseEnv, url, type Env } from './env';

/** What a caller may do. Each route names the scope it needs. */
export const SCOPES = ['workflows:start', 'workflows:read', 'workflows:admin', 'pipelines:adhoc'] as const;
export type Scope = (typeof SCOPES)[number];

const TENANT = /^[A-Za-z0-9_.-]{1,64}$/;
const TENANT_MESSAGE = 'tenant must be 1-64 letters, digits, ".", "_" or "-"';

/** An API key as configured: only its SHA-256 digest is stored, never the key itself. */
export interface ApiKeyEntry {
  /** Non-secret name of the key, shown in logs and used for its rate limit. */
  id: string;
  tenant: string;
  scopes: Scope[];
  /** Hex SHA-256 of the key. */
  sha256: string;
}

const ApiKeyEntrySchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'id must be 1-64 letters, digits, ".", "_" or "-"'),
    tenant: z.string().regex(TENANT, TENANT_MESSAGE),
    scopes: z.array(z.enum(SCOPES)).min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 must be the 64 hex digits of the key digest (npm run keys:create)'),
  })
  .strict();

export interface JwtSettings {
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** Claim holding the scopes: a space-separated string (OAuth2 `scope`) or a list. */
  scopesClaim: string;
  /** Claim holding the tenant. */
  tenantClaim: string;
}

export interface AuthSettings {
  apiKeys: ApiKeyEntry[];
  jwt?: JwtSettings;
}

export const keyDigest = (apiKey: string) => createHash('sha256').update(apiKey).digest('hex');

/** A new random API key and the entry that configures it (the key itself is shown once, never stored). */
export function createApiKey(id: string, tenant: string, scopes: Scope[]): { apiKey: string; entry: ApiKeyEntry } {
  const apiKey = `chorus_${randomBytes(32).toString('base64url')}`;
  return { apiKey, entry: { id, tenant, scopes, sha256: keyDigest(apiKey) } };
}

function parseKeyEntries(source: string, text: string): ApiKeyEntry[] {
  let raw: unknown;
  try {
    raw = source.endsWith('.yaml') || source.endsWith('.yml') ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`Invalid configuration:\n  ${source}: not valid JSON/YAML (${(error as Error).message})`);
  }
  const parsed = z.array(ApiKeyEntrySchema).min(1, 'at least one key').safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      `Invalid configuration:\n  ${parsed.error.issues.map((issue) => `${source}[${issue.path.join('.')}]: ${issue.message}`).join('\n  ')}`,
    );
  }
  const ids = parsed.data.map((entry) => entry.id);
  const duplicate = ids.find((id, index) => ids.indexOf(id) !== index);
  if (duplicate) throw new ConfigError(`Invalid configuration:\n  ${source}: duplicate key id "${duplicate}"`);
  return parsed.data;
}

/**
 * API keys come from CHORUS_API_KEYS_FILE (JSON or YAML list of entries) or CHORUS_API_KEYS (the
 * same list as JSON); JWTs are accepted when CHORUS_JWT_JWKS_URL is set. At least one must be configured.
 */
export function loadAuthSettings(env: Env = process.env): AuthSettings {
  const vars = parseEnv(
    {
      CHORUS_API_KEYS: z.string().optional(),
      CHORUS_API_KEYS_FILE: z.string().optional(),
      CHORUS_JWT_JWKS_URL: url().optional(),
      CHORUS_JWT_ISSUER: z.string().optional(),
      CHORUS_JWT_AUDIENCE: z.string().optional(),
      CHORUS_JWT_SCOPES_CLAIM: z.string().default('scope'),
      CHORUS_JWT_TENANT_CLAIM: z.string().default('tenant'),
    },
    env,
  );
  const apiKeys = [
    ...(vars.CHORUS_API_KEYS ? parseKeyEntries('CHORUS_API_KEYS', vars.CHORUS_API_KEYS) : []),
    ...(vars.CHORUS_API_KEYS_FILE ? parseKeyEntries(vars.CHORUS_API_KEYS_FILE, readFileSync(vars.CHORUS_API_KEYS_FILE, 'utf8')) : []),
  ];
  let jwt: JwtSettings | undefined;
  if (vars.CHORUS_JWT_JWKS_URL) {
    if (!vars.CHORUS_JWT_ISSUER || !vars.CHORUS_JWT_AUDIENCE) {
      throw new ConfigError('Invalid configuration:\n  CHORUS_JWT_ISSUER and CHORUS_JWT_AUDIENCE are required with CHORUS_JWT_JWKS_URL');
    }
    jwt = {
      jwksUrl: vars.CHORUS_JWT_JWKS_URL,
      issuer: vars.CHORUS_JWT_ISSUER,
      audience: vars.CHORUS_JWT_AUDIENCE,
      scopesClaim: vars.CHORUS_JWT_SCOPES_CLAIM,
      tenantClaim: vars.CHORUS_JWT_TENANT_CLAIM,
    };
  }
  if (!apiKeys.length && !jwt) {
    throw new ConfigError(
      'Invalid configuration:\n  CHORUS_API_KEYS: set CHORUS_API_KEYS, CHORUS_API_KEYS_FILE or CHORUS_JWT_JWKS_URL (npm run keys:create makes a key)',
    );
  }
  return { apiKeys, jwt };
}

export const isValidTenant = (tenant: unknown): tenant is string => typeof tenant === 'string' && TENANT.test(tenant);
