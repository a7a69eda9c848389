import { lookup } from 'node:dns/promises';
import net from 'node:net';

/** Why a webhook URL may not be called. */
export class UrlNotAllowed extends Error {}

/** Where fourfold may not send a request: loopback, private, link-local (cloud metadata), CGNAT, multicast, reserved. */
const BLOCKED = new net.BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24],
  ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) {
  BLOCKED.addSubnet(network, prefix, 'ipv4');
}
// `::/96` holds `::`, `::1` and the IPv4-compatible addresses; `fc00::/7` AWS's `fd00:ec2::254`.
for (const [network, prefix] of [['::', 96], ['64:ff9b::', 96], ['100::', 64], ['2001:db8::', 32], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) {
  BLOCKED.addSubnet(network, prefix, 'ipv6');
}

/** Whether `address` is a public unicast address (an IPv4-mapped IPv6 address is judged as its IPv4 address). */
export function isPublicAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 4) return !BLOCKED.check(address, 'ipv4');
  if (family !== 6) return false;
  const mapped = mappedIpv4(address);
  if (mapped) return isPublicAddress(mapped);
  return !BLOCKED.check(address, 'ipv6');
}

function mappedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower) ?? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:0{0,4}:){0,5}:?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (!hex) return undefined;
  const high = parseInt(hex[1]!, 16);
  const low = parseInt(hex[2]!, 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

export interface WebhookTarget {
  url: URL;
  /** The checked address to connect to; absent for an allowed host (resolved as usual). */
  address?: { address: string; family: number };
}

/**
 * Checks a webhook URL as it is now: a host:port in `allowedHosts` may be anything (http
 * included); any other must be https and resolve only to public addresses. Answers the address
 * to connect to, so that a second resolution (DNS rebinding) cannot change it.
 */
export async function checkWebhookUrl(raw: string, allowedHosts: readonly string[]): Promise<WebhookTarget> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UrlNotAllowed('is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UrlNotAllowed('must be an https URL');
  if (url.username || url.password) throw new UrlNotAllowed('must not carry credentials');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  if (allowedHosts.includes(`${url.hostname}:${port}`.toLowerCase())) return { url };
  if (url.protocol !== 'https:') throw new UrlNotAllowed('must be an https URL');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: { address: string; family: number }[];
  if (net.isIP(host)) {
    addresses = [{ address: host, family: net.isIP(host) }];
  } else {
    try {
      addresses = await lookup(host, { all: true, verbatim: true });
    } catch {
      throw new UrlNotAllowed(`has a host that does not resolve (${host})`);
    }
  }
  const refused = addresses.find((a) => !isPublicAddress(a.address));
  if (refused || addresses.length === 0) {
    throw new UrlNotAllowed(`resolves to ${refused?.address ?? 'nothing'}, which is not a public address (loopback, private, link-local, CGNAT and cloud metadata addresses are refused)`);
  }
  return { url, address: addresses[0]! };
}
