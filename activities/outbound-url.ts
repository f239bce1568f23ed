import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { AxiosRequestConfig } from 'axios';

/** Where the worker may send requests on a pipeline's behalf (image URLs, webhooks): the SSRF guard. */
export interface OutboundUrlRules {
  allowHttp: boolean;
  allowPrivateHosts: boolean;
}

// Addresses an outbound URL must not reach unless private hosts are allowed.
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

/**
 * Checks a URL against the rules, and returns axios options that check every connection again:
 * each DNS answer and each redirect, so a public name that resolves (or redirects) inward is refused.
 * `reject` builds the error to throw, so each caller keeps its own failure type.
 */
export function guardedRequest(target: string, rules: OutboundUrlRules, reject: (reason: string) => Error): { url: URL; config: AxiosRequestConfig } {
  const check = (url: URL) => {
    const allowed = rules.allowHttp ? ['https:', 'http:'] : ['https:'];
    if (!allowed.includes(url.protocol)) throw reject(`URL scheme ${url.protocol} is not allowed (allowed: ${allowed.join(', ')})`);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) && !rules.allowPrivateHosts && !isPublicAddress(host)) throw reject(`host ${host} is not a public address`);
  };
  let url: URL;
  try {
    url = new URL(target.trim());
  } catch {
    throw reject('not a valid http(s) URL');
  }
  check(url);
  return {
    url,
    config: {
      beforeRedirect: (options: { href?: string }) => {
        if (options.href) check(new URL(options.href));
      },
      lookup: async (hostname: string) => {
        const addresses = await dnsLookup(hostname, { all: true });
        const blocked = addresses.find(({ address }) => !rules.allowPrivateHosts && !isPublicAddress(address));
        if (blocked) throw reject(`host ${hostname} resolves to ${blocked.address}, not a public address`);
        return [addresses[0].address, addresses[0].family] as [string, number];
      },
    } as AxiosRequestConfig,
  };
}
