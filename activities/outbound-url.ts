import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { AxiosRequestConfig } from 'axios';
import ipaddr from 'ipaddr.js';

/** Where the worker may send requests on a pipeline's behalf (image URLs, webhooks): the SSRF guard. */
export interface OutboundUrlRules {
  allowHttp: boolean;
  allowPrivateHosts: boolean;
}

const ipv4FromWords = (high: number, low: number) => new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);

/**
 * The IPv4 addresses an IPv6 address carries and routes to, by the range it is in; undefined if it
 * carries none. The local-use NAT64 prefix (64:ff9b:1::/48) is not here: its IPv4 position depends
 * on a prefix length only its network knows, and it is not globally reachable, so it is not public.
 */
function embeddedIpv4(address: ipaddr.IPv6): ipaddr.IPv4[] | undefined {
  const words = address.parts;
  const isZero = (from: number, to: number) => words.slice(from, to).every((word) => word === 0);
  if (address.isIPv4MappedAddress()) return [address.toIPv4Address()];
  // RFC 6052 well-known NAT64 prefix 64:ff9b::/96.
  if (words[0] === 0x64 && words[1] === 0xff9b && isZero(2, 6)) return [ipv4FromWords(words[6], words[7])];
  // RFC 4291 IPv4-compatible ::/96 (deprecated, still routed by some stacks).
  if (isZero(0, 6)) return [ipv4FromWords(words[6], words[7])];
  // RFC 3056 6to4 2002:V4V4:V4V4::/48: the site's router.
  if (words[0] === 0x2002) return [ipv4FromWords(words[1], words[2])];
  // RFC 4380 Teredo 2001:0:SERVER:flags:port:~CLIENT: both the server and the (inverted) client.
  if (words[0] === 0x2001 && words[1] === 0) return [ipv4FromWords(words[2], words[3]), ipv4FromWords(words[6] ^ 0xffff, words[7] ^ 0xffff)];
  return undefined;
}

/** Global unicast 2000::/3 is the only IPv6 space IANA allocates for public addresses. */
const GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR('2000::/3');

/**
 * Whether an address is public: in no special-purpose range of the IANA registries (ipaddr.js's
 * `unicast`), judged by the IPv4 address it embeds when it embeds one. Anything else is refused.
 */
export function isPublicAddress(address: string): boolean {
  if (!isIP(address)) return false;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv4') return parsed.range() === 'unicast';
  const ipv6 = parsed as ipaddr.IPv6;
  const embedded = embeddedIpv4(ipv6);
  if (embedded) return embedded.every((ipv4) => ipv4.range() === 'unicast');
  return ipv6.range() === 'unicast' && ipv6.match(GLOBAL_UNICAST);
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
