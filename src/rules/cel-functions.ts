import { parsePath, valueAtSteps, type PathStep } from './attribute-path';
import { cidrContains, isWorldOpen, portSpecIncludes } from './network';

/**
 * The dialect rules and tenant policies are written in: standard CEL plus the variables and
 * helper functions below. This is the one list of them; the engine registers exactly these and
 * the policy schema endpoint can serve them as they are.
 */
export interface CelVariableDoc {
  name: string;
  type: string;
  description: string;
}

export interface CelFunctionDoc {
  name: string;
  /** The signature as the CEL library declares it. */
  signature: string;
  description: string;
  example: string;
}

export interface CelFunction extends CelFunctionDoc {
  handler: (...args: never[]) => unknown;
}

export const CEL_VARIABLES: readonly CelVariableDoc[] = [
  {
    name: 'resource',
    type: 'map',
    description:
      'The resource under evaluation: id (null outside an audit), type, provider, native_id, region, name, tags (map<string, string>), ' +
      'attributes (Terraform attribute names; nested blocks are lists of maps), relationships (list of {type, resource_native_id}).',
  },
  { name: 'related', type: 'list', description: "The resources this resource's relationships point at (same shape as resource)." },
  { name: 'referenced_by', type: 'list', description: "The resources whose relationships point at this resource, e.g. the instances using a security group." },
  { name: 'now', type: 'google.protobuf.Timestamp', description: 'The time of the audit; compare ages with it so that an evaluation can be reproduced.' },
];

const parsedPaths = new Map<string, PathStep[]>();
// Paths are usually literals, so a small cache avoids re-parsing them per resource; it is
// bounded because a tenant's expression could build paths from data.
const PATH_CACHE_LIMIT = 10_000;

function stepsOf(path: string): PathStep[] {
  let steps = parsedPaths.get(path);
  if (steps === undefined) {
    steps = parsePath(path);
    if (parsedPaths.size < PATH_CACHE_LIMIT) parsedPaths.set(path, steps);
  }
  return steps;
}

const DAY_MS = 86_400_000;

function instantOf(value: unknown): number {
  const time = value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time)) throw new Error(`not a timestamp: ${JSON.stringify(value)}`);
  return time;
}

export const CEL_FUNCTIONS: readonly CelFunction[] = [
  {
    name: 'attr',
    signature: 'attr(map, string, dyn): dyn',
    description: 'The value at a path (keys separated by dots, [n] for list items) in a map, or the default when any step is missing or the value is null.',
    example: "attr(resource, 'attributes.versioning[0].enabled', false) == false",
    handler: (map: Record<string, unknown>, path: string, fallback: unknown) => valueAtSteps(map, stepsOf(path)) ?? fallback,
  },
  {
    name: 'asList',
    signature: 'asList(dyn): list',
    description: 'The value itself when it is a list, [] for null, otherwise a one-item list; for JSON fields that may hold one item or many (IAM policy Statement, Action).',
    example: "asList(parseJson(resource.attributes.policy).Statement).exists(s, s.Effect == 'Allow')",
    handler: (value: unknown) => (Array.isArray(value) ? value : value === null || value === undefined ? [] : [value]),
  },
  {
    name: 'parseJson',
    signature: 'parseJson(string): dyn',
    description: 'Parses a JSON document held in a string attribute (IAM and bucket policies); an invalid document is an evaluation error.',
    example: "parseJson(resource.attributes.policy).Statement.exists(s, s.Principal == '*')",
    handler: (text: string) => JSON.parse(text) as unknown,
  },
  {
    name: 'cidrContains',
    signature: 'cidrContains(string, string): bool',
    description: 'Whether the CIDR block (first argument) contains the address or block (second), IPv4 or IPv6; false when either is not an address.',
    example: "cidrContains('10.0.0.0/8', '10.1.2.0/24')",
    handler: (outer: string, inner: string) => cidrContains(outer, inner),
  },
  {
    name: 'isWorldOpen',
    signature: 'isWorldOpen(string): bool',
    description: "Whether a source admits the whole internet: 0.0.0.0/0, ::/0, or Azure's '*', 'Internet', 'Any'.",
    example: "resource.attributes.source_ranges.exists(r, isWorldOpen(r))",
    handler: (source: string) => isWorldOpen(source),
  },
  {
    name: 'portsInclude',
    signature: 'portsInclude(dyn, int): bool',
    description: "Whether a port specification includes the port: '22', '1000-2000', '*', or a list of those (an empty list means all ports, as in GCP firewalls).",
    example: "resource.attributes.allow.exists(a, portsInclude(a.ports, 22))",
    handler: (spec: unknown, port: bigint) => portSpecIncludes(spec, Number(port)),
  },
  {
    name: 'daysBetween',
    signature: 'daysBetween(dyn, dyn): double',
    description: 'Days (fractional, negative when the second is earlier) from the first to the second time; each is a timestamp or an RFC 3339 string.',
    example: 'daysBetween(now, resource.attributes.not_after) < 30.0',
    handler: (from: unknown, to: unknown) => (instantOf(to) - instantOf(from)) / DAY_MS,
  },
];
