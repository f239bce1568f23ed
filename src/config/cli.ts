import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { DEFAULT_API_URL } from './api';
import { ConfigError, parseEnv, url, type Env } from './env';

export interface CliSettings {
  /** Base URL of the Chorus REST API. @default http://127.0.0.1:3000 */
  apiUrl: string;
  /** API key (sent as x-api-key) or JWT (sent as a bearer token); unset means the CLI refuses to call the API. */
  apiKey?: string;
  /** The config file the settings were read from, when there was one. */
  configFile?: string;
}

/** Where `chorus` reads its defaults when CHORUS_CONFIG names no other file. */
export const DEFAULT_CLI_CONFIG_PATH = join(homedir(), '.config', 'chorus', 'config.json');

const ConfigFile = z.strictObject({ apiUrl: url().optional(), apiKey: z.string().min(1).optional() });

function readConfigFile(path: string, required: boolean): z.infer<typeof ConfigFile> | undefined {
  if (!existsSync(path)) {
    if (required) throw new ConfigError(`Invalid configuration:\n  CHORUS_CONFIG: ${path} does not exist`);
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`Invalid configuration:\n  ${path}: not JSON (${(error as Error).message})`);
  }
  const checked = ConfigFile.safeParse(parsed);
  if (!checked.success) {
    const problems = checked.error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration in ${path}:\n  ${problems.join('\n  ')}\n  (expected {"apiUrl": "http://…", "apiKey": "…"})`);
  }
  return checked.data;
}

/**
 * The `chorus` CLI's settings, each from the first place that has it: the command line (`flags`), the
 * environment (CHORUS_API_URL, CHORUS_API_KEY), the config file (CHORUS_CONFIG, default
 * ~/.config/chorus/config.json: `{"apiUrl": …, "apiKey": …}`), then the default URL.
 */
export function loadCliSettings(env: Env = process.env, flags: { apiUrl?: string; apiKey?: string } = {}): CliSettings {
  const parsed = parseEnv({ CHORUS_API_URL: url().optional(), CHORUS_API_KEY: z.string().optional(), CHORUS_CONFIG: z.string().optional() }, env);
  const configFile = parsed.CHORUS_CONFIG ?? DEFAULT_CLI_CONFIG_PATH;
  const file = readConfigFile(configFile, parsed.CHORUS_CONFIG !== undefined);
  const apiUrl = flags.apiUrl ?? parsed.CHORUS_API_URL ?? file?.apiUrl ?? DEFAULT_API_URL;
  if (flags.apiUrl !== undefined && !url().safeParse(flags.apiUrl).success)
    throw new ConfigError(`Invalid configuration:\n  --api-url: expected an http(s) URL`);
  return {
    apiUrl: apiUrl.replace(/\/+$/, ''),
    apiKey: flags.apiKey ?? parsed.CHORUS_API_KEY ?? file?.apiKey,
    ...(file ? { configFile } : {}),
  };
}
