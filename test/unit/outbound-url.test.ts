import { guardedRequest, isPublicAddress } from '../../activities/outbound-url';

/**
 * Every range of the IANA special-purpose address registries (iana-ipv4-special-registry,
 * iana-ipv6-special-registry), plus multicast and the IPv6 space outside global unicast: an
 * outbound URL may reach none of them. Addresses that embed an IPv4 address are judged by it.
 */
const NOT_PUBLIC: Array<[range: string, addresses: string[]]> = [
  // IPv4 special-purpose registry
  ['0.0.0.0/8 "this network"', ['0.0.0.0', '0.1.2.3']],
  ['10.0.0.0/8 private-use', ['10.0.0.1', '10.255.255.254']],
  ['100.64.0.0/10 shared address space', ['100.64.0.1', '100.127.255.254']],
  ['127.0.0.0/8 loopback', ['127.0.0.1', '127.255.255.254']],
  ['169.254.0.0/16 link local', ['169.254.169.254', '169.254.0.1']],
  ['172.16.0.0/12 private-use', ['172.16.0.1', '172.31.255.254']],
  ['192.0.0.0/24 IETF protocol assignments', ['192.0.0.1', '192.0.0.255']],
  ['192.0.0.0/29 DS-Lite', ['192.0.0.2']],
  ['192.0.0.8/32 IPv4 dummy address', ['192.0.0.8']],
  ['192.0.0.9/32 PCP anycast', ['192.0.0.9']],
  ['192.0.0.10/32 TURN anycast', ['192.0.0.10']],
  ['192.0.0.170/32, 192.0.0.171/32 NAT64/DNS64 discovery', ['192.0.0.170', '192.0.0.171']],
  ['192.0.2.0/24 documentation (TEST-NET-1)', ['192.0.2.1']],
  ['192.31.196.0/24 AS112-v4', ['192.31.196.1']],
  ['192.52.193.0/24 AMT', ['192.52.193.1']],
  ['192.88.99.0/24 deprecated 6to4 relay anycast', ['192.88.99.1', '192.88.99.2']],
  ['192.168.0.0/16 private-use', ['192.168.0.1', '192.168.255.254']],
  ['192.175.48.0/24 direct delegation AS112 service', ['192.175.48.1']],
  ['198.18.0.0/15 benchmarking', ['198.18.0.1', '198.19.255.254']],
  ['198.51.100.0/24 documentation (TEST-NET-2)', ['198.51.100.1']],
  ['203.0.113.0/24 documentation (TEST-NET-3)', ['203.0.113.1']],
  ['224.0.0.0/4 multicast', ['224.0.0.1', '239.255.255.250']],
  ['240.0.0.0/4 reserved', ['240.0.0.1', '254.255.255.254']],
  ['255.255.255.255/32 limited broadcast', ['255.255.255.255']],
  // IPv6 special-purpose registry
  ['::1/128 loopback', ['::1']],
  ['::/128 unspecified', ['::']],
  ['::ffff:0:0/96 IPv4-mapped, private IPv4', ['::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::ffff:169.254.169.254']],
  ['::/96 IPv4-compatible, private IPv4', ['::127.0.0.1', '::7f00:1', '::a00:1']],
  ['64:ff9b::/96 IPv4-IPv6 translation, private IPv4', ['64:ff9b::7f00:1', '64:ff9b::10.0.0.1', '64:ff9b::a9fe:a9fe']],
  ['64:ff9b:1::/48 local-use IPv4/IPv6 translation', ['64:ff9b:1::808:808', '64:ff9b:1:ffff::1']],
  ['100::/64 discard-only', ['100::1']],
  ['100:0:0:1::/64 dummy IPv6 prefix', ['100:0:0:1::1']],
  ['2001::/23 IETF protocol assignments', ['2001:1::1', '2001:1::2', '2001:1::3', '2001:1ff::1']],
  ['2001::/32 Teredo, private IPv4 inside', ['2001::1', '2001:0:7f00:1::', '2001:0:808:808:0:0:80ff:fffe']],
  ['2001:2::/48 benchmarking', ['2001:2::1']],
  ['2001:3::/32 AMT', ['2001:3::1']],
  ['2001:4:112::/48 AS112-v6', ['2001:4:112::1']],
  ['2001:10::/28 deprecated ORCHID', ['2001:10::1']],
  ['2001:20::/28 ORCHIDv2', ['2001:20::1']],
  ['2001:30::/28 drone remote ID protocol entity tags', ['2001:30::1']],
  ['2001:db8::/32 documentation', ['2001:db8::1', '2001:db8:ffff::1']],
  ['2002::/16 6to4, private IPv4 inside', ['2002:7f00:1::', '2002:a00:1::1', '2002:a9fe:a9fe::1']],
  ['2620:4f:8000::/48 direct delegation AS112 service', ['2620:4f:8000::1']],
  ['3fff::/20 documentation', ['3fff::1', '3fff:fff::1']],
  ['5f00::/16 segment routing SIDs', ['5f00::1']],
  ['fc00::/7 unique local', ['fc00::1', 'fd12:3456::1']],
  ['fe80::/10 link-local', ['fe80::1', 'febf::1']],
  ['fec0::/10 deprecated site-local', ['fec0::1']],
  ['ff00::/8 multicast', ['ff02::1', 'ff0e::1']],
  ['outside global unicast 2000::/3', ['4000::1', 'e000::1']],
  ['not an address', ['localhost', '', '127.1', '0x7f000001']],
];

const PUBLIC: Array<[what: string, addresses: string[]]> = [
  ['ordinary IPv4', ['8.8.8.8', '1.1.1.1', '93.184.216.34', '100.63.255.255', '100.128.0.0', '172.32.0.1', '192.0.1.1', '198.20.0.1']],
  ['ordinary IPv6', ['2606:4700:4700::1111', '2a00:1450:4001:80b::200e', '2001:4860:4860::8888']],
  ['IPv4-mapped public IPv4', ['::ffff:8.8.8.8', '::ffff:808:808']],
  ['NAT64 64:ff9b::/96 to a public IPv4', ['64:ff9b::8.8.8.8', '64:ff9b::101:101']],
  ['6to4 of a public IPv4 site', ['2002:808:808::1']],
  ['Teredo with a public server and client', ['2001:0:4136:e378:8000:63bf:f7f7:f7f7']],
];

describe('outbound URL guard: which addresses are public', () => {
  describe.each(NOT_PUBLIC)('%s', (_range, addresses) => {
    it.each(addresses)('%s is not public', (address) => expect(isPublicAddress(address)).toBe(false));
  });
  describe.each(PUBLIC)('%s', (_what, addresses) => {
    it.each(addresses)('%s is public', (address) => expect(isPublicAddress(address)).toBe(true));
  });

  it('refuses URLs whose host is an IPv6 literal embedding a private IPv4, however it is written', () => {
    const reject = (reason: string) => new Error(reason);
    const rules = { allowHttp: true, allowPrivateHosts: false };
    for (const url of ['http://[64:ff9b::127.0.0.1]/', 'http://[::127.0.0.1]/', 'http://[2002:7f00:1::]/', 'http://[2001::1]/', 'http://[::ffff:127.0.0.1]/']) {
      expect(() => guardedRequest(url, rules, reject)).toThrow(/not a public address/);
    }
    expect(guardedRequest('http://[64:ff9b::8.8.8.8]/', rules, reject).url.hostname).toBe('[64:ff9b::808:808]');
  });
});
