import { z } from 'zod';
import { ConfigError, flag, parseEnv, positiveInt, type Env } from './env';

/** Outbound webhook delivery (worker side): per-tenant signing secrets and URL rules. */
export interface WebhookSettings {
  /** Tenant → HMAC-SHA256 signing secret. A tenant without one cannot use callbackUrl. */
  secrets: Record<string, string>;
  /** Plain http:// callback URLs; https only when false. */
  allowHttp: boolean;
  /** Loopback, private and other non-public callback hosts; never in production. */
  allowPrivateHosts: boolean;
  timeoutMs: number;
}

const Secrets = z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), z.string().min(16));

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
  let secrets: Record<string, string>;
  try {
    secrets = Secrets.parse(JSON.parse(vars.CHORUS_WEBHOOK_SECRETS));
  } catch {
    throw new ConfigError('Invalid configuration:\n  CHORUS_WEBHOOK_SECRETS: expected JSON {"tenant": "secret of 16+ characters"}');
  }
  return {
    secrets,
    allowHttp: vars.CHORUS_WEBHOOK_ALLOW_HTTP,
    allowPrivateHosts: vars.CHORUS_WEBHOOK_ALLOW_PRIVATE_HOSTS,
    timeoutMs: vars.CHORUS_WEBHOOK_TIMEOUT_MS,
  };
}
