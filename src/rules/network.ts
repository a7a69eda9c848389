/** Address and port arithmetic behind the CEL network helpers; pure and total (bad input → false). */

interface AddressRange {
  version: 4 | 6;
  first: bigint;
  last: bigint;
}

function parseIPv4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return null;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseIPv6(text: string): bigint | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (half: string | undefined): string[] => (half === undefined || half === '' ? [] : half.split(':'));
  const head = groupsOf(halves[0]);
  const tail = groupsOf(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array<string>(halves.length === 1 ? 0 : missing).fill('0'), ...tail];
  let value = 0n;
  for (const group of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
    value = (value << 16n) | BigInt(`0x${group}`);
  }
  return value;
}

/** An address (`10.0.0.1`, `2001:db8::1`) or a CIDR block (`10.0.0.0/8`, `::/0`) as a range. */
export function parseAddressRange(text: string): AddressRange | null {
  const [address = '', prefixText, ...rest] = text.trim().split('/');
  if (rest.length > 0) return null;
  const version = address.includes(':') ? 6 : 4;
  const value = version === 4 ? parseIPv4(address) : parseIPv6(address);
  if (value === null) return null;
  const bits = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (prefix > bits) return null;
  const hostBits = BigInt(bits - prefix);
  const first = (value >> hostBits) << hostBits;
  return { version, first, last: first + (1n << hostBits) - 1n };
}

/** Whether the CIDR block `outer` contains the address or block `inner` (same IP version only). */
export function cidrContains(outer: string, inner: string): boolean {
  const a = parseAddressRange(outer);
  const b = parseAddressRange(inner);
  return a !== null && b !== null && a.version === b.version && a.first <= b.first && b.last <= a.last;
}

// Azure NSG rules name "anywhere" with service tags and wildcards rather than CIDRs.
const WORLD_ALIASES = new Set(['*', 'internet', 'any']);

/** Whether a source (CIDR, address or Azure tag) admits the whole internet: 0.0.0.0/0, ::/0, *, Internet, Any. */
export function isWorldOpen(source: string): boolean {
  if (WORLD_ALIASES.has(source.trim().toLowerCase())) return true;
  const range = parseAddressRange(source);
  return range !== null && range.first === 0n && range.last === (range.version === 4 ? 2n ** 32n - 1n : 2n ** 128n - 1n);
}

/**
 * Whether a port specification includes `port`: `"22"`, `"1000-2000"`, `"*"`, or a list of those
 * (an empty list means every port, as in GCP firewall `allow[].ports`).
 */
export function portSpecIncludes(spec: unknown, port: number): boolean {
  if (Array.isArray(spec)) return spec.length === 0 || spec.some((entry) => portSpecIncludes(entry, port));
  if (typeof spec === 'number') return spec === port;
  if (typeof spec !== 'string') return false;
  const text = spec.trim();
  if (text === '*') return true;
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (match === null) return false;
  const from = Number(match[1]);
  const to = match[2] === undefined ? from : Number(match[2]);
  return from <= port && port <= to;
}

/** An ingress rule of a security group, whatever form declared it (see `ingressRulesOf`). */
export interface IngressRule {
  /** `-1` (every protocol), `tcp`, `udp`, `icmp`, `icmpv6`, or the number/name as written. */
  protocol: string;
  from_port: number;
  to_port: number;
  /** Whether it admits every port of every protocol, or the whole TCP/UDP range. */
  all_ports: boolean;
  /** The CIDR blocks it admits (IPv4 and IPv6). */
  sources: string[];
  /** `inline` (the group's `ingress` blocks), or the type of the rule resource. */
  origin: string;
}

const PROTOCOL_NAMES: Record<string, string> = { '-1': '-1', all: '-1', '6': 'tcp', '17': 'udp', '1': 'icmp', '58': 'icmpv6' };

export function normalProtocol(value: unknown): string {
  const text = String(value ?? '-1').trim().toLowerCase();
  return PROTOCOL_NAMES[text] ?? text;
}

function port(value: unknown, fallback: number): number {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : fallback;
}

function strings(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string' && v !== '');
  return typeof value === 'string' && value !== '' ? [value] : [];
}

/** One ingress rule from an inline block, an `aws_security_group_rule` or an `aws_vpc_security_group_ingress_rule`. */
export function ingressRule(attributes: Record<string, unknown>, origin: string): IngressRule {
  const protocol = normalProtocol(attributes.ip_protocol ?? attributes.protocol);
  const every = protocol === '-1';
  const from = every ? 0 : port(attributes.from_port, 0);
  const to = every ? 65535 : port(attributes.to_port, 65535);
  const sources = [...strings(attributes.cidr_blocks), ...strings(attributes.ipv6_cidr_blocks), ...strings(attributes.cidr_ipv4), ...strings(attributes.cidr_ipv6)];
  return { protocol, from_port: from, to_port: to, all_ports: every || (from <= 0 && to >= 65535), sources, origin };
}

/** Whether an ingress rule admits the whole internet to TCP `port`. */
export function admitsWorldOnTcp(rule: IngressRule, tcpPort: number): boolean {
  return (rule.protocol === '-1' || rule.protocol === 'tcp') && rule.from_port <= tcpPort && tcpPort <= rule.to_port && rule.sources.some(isWorldOpen);
}
