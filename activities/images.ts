import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { ApplicationFailure } from '@temporalio/activity';
import { isAxiosError, type AxiosInstance } from 'axios';
import type { ImageFetchSettings } from '../src/config/providers';
import { FailureType } from '../src/pipeline/failures';

export interface InlineImage {
  mimeType: string;
  base64: string;
}

// Addresses an image URL must not reach unless private hosts are allowed (SSRF guard).
const NON_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) NON_PUBLIC.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) NON_PUBLIC.addSubnet(network, prefix, 'ipv6');

export function isPublicAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return isPublicAddress(mapped[1]);
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  return !NON_PUBLIC.check(address, family);
}

const rejected = (message: string) => ApplicationFailure.create({ type: FailureType.ImageRejected, message, nonRetryable: true });

const DATA_URL = /^data:(image\/[a-z0-9.+-]+);base64,([A-Za-z0-9+/=\s]+)$/i;

/**
 * Turns a step's image reference (a `data:` URL or an http(s) URL) into inline bytes for the provider.
 * URLs are fetched here, never by the provider, with a size cap and scheme/host rules checked on
 * every connection (redirects and DNS answers included).
 */
export async function resolveImage(reference: string, http: AxiosInstance, rules: ImageFetchSettings, signal: AbortSignal): Promise<InlineImage> {
  const data = DATA_URL.exec(reference.trim());
  if (data) {
    const base64 = data[2].replace(/\s/g, '');
    if ((base64.length * 3) / 4 > rules.maxBytes) throw rejected(`the image is larger than ${rules.maxBytes} bytes`);
    return { mimeType: data[1].toLowerCase(), base64 };
  }
  let url: URL;
  try {
    url = new URL(reference.trim());
  } catch {
    throw rejected('image must be an http(s) URL or a data:image/...;base64 URL');
  }
  const checkUrl = (target: URL) => {
    const allowed = rules.allowHttp ? ['https:', 'http:'] : ['https:'];
    if (!allowed.includes(target.protocol)) throw rejected(`image URL scheme ${target.protocol} is not allowed (allowed: ${allowed.join(', ')})`);
    const host = target.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) && !rules.allowPrivateHosts && !isPublicAddress(host)) throw rejected(`image host ${host} is not a public address`);
  };
  checkUrl(url);
  try {
    const response = await http.get<ArrayBuffer>(url.toString(), {
      responseType: 'arraybuffer',
      maxContentLength: rules.maxBytes,
      maxRedirects: 3,
      timeout: rules.timeoutMs,
      signal,
      beforeRedirect: (options: { href?: string }) => {
        if (options.href) checkUrl(new URL(options.href));
      },
      lookup: async (hostname: string) => {
        const addresses = await dnsLookup(hostname, { all: true });
        const blocked = addresses.find(({ address }) => !rules.allowPrivateHosts && !isPublicAddress(address));
        if (blocked) throw rejected(`image host ${hostname} resolves to ${blocked.address}, not a public address`);
        return [addresses[0].address, addresses[0].family] as [string, number];
      },
    });
    const mimeType = String(response.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (!mimeType.startsWith('image/')) throw rejected(`the URL answered ${mimeType || 'no content type'}, not an image`);
    return { mimeType, base64: Buffer.from(response.data).toString('base64') };
  } catch (error) {
    if (error instanceof ApplicationFailure) throw error;
    const cause = isAxiosError(error) ? error.cause : undefined;
    if (cause instanceof ApplicationFailure) throw cause;
    if (isAxiosError(error) && error.message.includes('maxContentLength')) throw rejected(`the image is larger than ${rules.maxBytes} bytes`);
    const status = isAxiosError(error) ? error.response?.status : undefined;
    if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
      throw rejected(`the image URL answered HTTP ${status}`);
    }
    throw ApplicationFailure.create({
      type: FailureType.ImageUnavailable,
      message: `the image could not be fetched: ${status ? `HTTP ${status}` : (error as Error).message}`,
    });
  }
}
