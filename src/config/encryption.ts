import { z } from 'zod';
import { ConfigError, parseEnv, type Env } from './env';

export interface EncryptionSettings {
  /** Key ID → 32-byte AES-256 key. Old keys stay listed so old payloads still decrypt. */
  keys: Map<string, Buffer>;
  /** The key new payloads are encrypted with. */
  activeKeyId: string;
}

/**
 * CHORUS_ENCRYPTION_KEYS="2026-11:BASE64KEY,2026-05:OLDKEY" (32 random bytes each, e.g.
 * `openssl rand -base64 32`); CHORUS_ENCRYPTION_KEY_ID picks the active one (default: the first).
 * Unset: payloads are stored as plain JSON.
 */
export function loadEncryptionSettings(env: Env = process.env): EncryptionSettings | undefined {
  const vars = parseEnv({ CHORUS_ENCRYPTION_KEYS: z.string().optional(), CHORUS_ENCRYPTION_KEY_ID: z.string().optional() }, env);
  if (!vars.CHORUS_ENCRYPTION_KEYS) return undefined;
  const keys = new Map<string, Buffer>();
  for (const entry of vars.CHORUS_ENCRYPTION_KEYS.split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const separator = entry.indexOf(':');
    const id = entry.slice(0, separator);
    const key = Buffer.from(entry.slice(separator + 1), 'base64');
    if (separator < 1 || !/^[A-Za-z0-9_.-]{1,64}$/.test(id) || key.length !== 32) {
      throw new ConfigError('Invalid configuration:\n  CHORUS_ENCRYPTION_KEYS: expected ID:BASE64 entries of 32-byte keys, comma-separated');
    }
    keys.set(id, key);
  }
  const activeKeyId = vars.CHORUS_ENCRYPTION_KEY_ID ?? [...keys.keys()][0];
  if (!keys.has(activeKeyId)) throw new ConfigError(`Invalid configuration:\n  CHORUS_ENCRYPTION_KEY_ID: "${activeKeyId}" is not in CHORUS_ENCRYPTION_KEYS`);
  return { keys, activeKeyId };
}
