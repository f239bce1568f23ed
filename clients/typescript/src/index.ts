import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { paths } from './schema';

export type { components, operations, paths } from './schema';

/** The Chorus REST API, typed by its OpenAPI document: `client.GET('/v1/workflows/{id}', { params: { path: { id } } })`. */
export type ChorusClient = Client<paths>;

export interface ChorusClientOptions extends Omit<ClientOptions, 'baseUrl'> {
  /** Where the API listens. @default http://127.0.0.1:3000 */
  baseUrl?: string;
  /** An API key (sent as `x-api-key`) or a JWT (sent as `Authorization: Bearer`). */
  apiKey?: string;
}

const JWT = /^[\w-]+\.[\w-]+\.[\w-]*$/;

/** The header a credential travels in: a JWT as a bearer token, anything else as an API key (whatever its prefix). */
export function credentialHeaders(credential: string): Record<string, string> {
  return JWT.test(credential) ? { authorization: `Bearer ${credential}` } : { 'x-api-key': credential };
}

/** A client of the Chorus REST API; every path, parameter and body is checked against the document at compile time. */
export function createChorusClient({ baseUrl = 'http://127.0.0.1:3000', apiKey, headers, ...options }: ChorusClientOptions = {}): ChorusClient {
  return createClient<paths>({
    baseUrl: baseUrl.replace(/\/+$/, ''),
    headers: { ...(apiKey ? credentialHeaders(apiKey) : {}), ...(headers as Record<string, string> | undefined) },
    ...options,
  });
}
