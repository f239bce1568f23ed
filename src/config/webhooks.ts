import { z } from 'zod';
import { ConfigError, flag, parseEnv, positiveInt, type Env } from './env';

/** Outbound webhook delivery (worker side): per-tenant signing secrets and URL rules. */
export interface WebhookSettings {
  /**
   * Tenant → its Standard Webhooks signing secrets (`whsec_` + base64 of 24–64 random bytes), newest first.
   * Every delivery is signed with each, so a receiver can move to a new secret without missing one.
   * A tenant without one cannot use callbackUrl.
   */
  secrets: Record<string, string[]>;
  /** Plain http:// callback URLs; https only when false. */
  allowHttp: boolean;
  /** Loopback, private and other non-public callback hosts; never in production. */
  allowPrivateHosts: boolean;
  timeoutMs: number;
}

const SECRET_PREFIX = 'whsec_';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The key bytes of a `whsec_` secret, or undefined when it is not one (the Standard Webhooks secret format). */
export function webhookSecretKey(secret: string): Buffer | undefined {
  if (!secret.startsWith(SECRET_PREFIX)) return undefined;
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!BASE64.test(encoded)) return undefined;
  const key = Buffer.from(encoded, 'base64');
  // The specification's range: at least 192 bits, at most 512.
  return key.length >= 24 && key.length <= 64 ? key : undefined;
}

const Secret = z.string().refine((secret) => webhookSecretKey(secret) !== undefined);
const Secrets = z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), z.union([Secret.transform((secret) => [secret]), z.array(Secret).min(1)]));

export function loadWebhookSettings(env: Env = process.env): WebhookSettings {
  const vars = parseEnv(
    {
      CHORUS_WEBHOOK_SECRETS: z.string().default('{}'),
      CHORUS_WEBHOOK_ALLOW_HTTP: flag(false),
      CHORUS_WEBHOOK_ALLOW_PRIVATE_HOSTS: flag(false),
      CHORUS_WEBHOOK_TIMEOUT_MS: positiveInt(10_000),
    },
    env,
  );
  let secrets: Record<string, string[]>;
  try {
    secrets = Secrets.parse(JSON.parse(vars.CHORUS_WEBHOOK_SECRETS));
  } catch {
    throw new ConfigError(
      'Invalid configuration:\n  CHORUS_WEBHOOK_SECRETS: expected JSON {"tenant": "whsec_<base64 of 24-64 bytes>"} (or a list of such secrets, newest first)',
    );
  }
  return {
    secrets,
    allowHttp: vars.CHORUS_WEBHOOK_ALLOW_HTTP,
    allowPrivateHosts: vars.CHORUS_WEBHOOK_ALLOW_PRIVATE_HOSTS,
    timeoutMs: vars.CHORUS_WEBHOOK_TIMEOUT_MS,
  };
}
