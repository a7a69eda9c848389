import { ACCOUNT_WIDE_TYPES } from './account-defaults';
import { parsePath, valueAtSteps, type PathStep } from './attribute-path';
import { admitsWorldOnTcp, cidrContains, ingressRule, isWorldOpen, portSpecIncludes, type IngressRule } from './network';
import { listItems, raiseUnknown, unknownOwner, unknownPathsRead } from './unknown-values';

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
  {
    name: 'referenced_by',
    type: 'list',
    description:
      'The resources whose relationships point at this resource, e.g. the instances using a security group, and the resources that configure it ' +
      'from elsewhere (aws_s3_bucket_versioning, aws_s3_bucket_public_access_block, aws_security_group_rule, aws_vpc_security_group_ingress_rule ...).',
  },
  {
    name: 'account_defaults',
    type: 'map',
    description:
      'Account-wide settings in the resource\'s account (subscription, project): a map from each account-wide type to the list of resources of that type ' +
      'in the same account ([] when there are none; every listed type is present). Types: ' + ACCOUNT_WIDE_TYPES.join(', ') + '.',
  },
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

/** The value at a path of a map; raises the unknown signal when it reads an unknown value (see unknown-values.ts). */
function checkedValue(map: Record<string, unknown>, path: string): unknown {
  const steps = stepsOf(path);
  const unknown = unknownPathsRead(map, steps);
  if (unknown.length > 0) raiseUnknown(unknownOwner(map), unknown);
  return valueAtSteps(map, steps);
}

const SECURITY_GROUP_TYPES = new Set(['aws_security_group', 'aws_default_security_group']);
const INGRESS_RULE_FIELDS: Record<string, string[]> = {
  aws_security_group_rule: ['type', 'protocol', 'from_port', 'to_port', 'cidr_blocks', 'ipv6_cidr_blocks'],
  aws_vpc_security_group_ingress_rule: ['ip_protocol', 'from_port', 'to_port', 'cidr_ipv4', 'cidr_ipv6'],
};

const SOURCE_FIELDS = new Set(['cidr_blocks', 'ipv6_cidr_blocks', 'cidr_ipv4', 'cidr_ipv6']);

/** The known ingress rules of a group (a rule with some sources unknown: with its known ones) and the unknown values among what declares them. */
function ingressOf(resource: Record<string, unknown>, referencedBy: readonly Record<string, unknown>[]) {
  const rules: IngressRule[] = [];
  const unknown: { map: Record<string, unknown>; paths: string[] }[] = [];
  const read = (map: Record<string, unknown>, field: string): unknown => {
    const paths = unknownPathsRead(map, ['attributes', field]);
    if (paths.length > 0) throw paths;
    return valueAtSteps(map, ['attributes', field]);
  };
  const fromRuleResource = (map: Record<string, unknown>) => {
    const fields = INGRESS_RULE_FIELDS[String(map.type)];
    if (fields === undefined) return;
    const attributes: Record<string, unknown> = {};
    const unknownPaths: string[] = [];
    let unknownSourcesOnly = true;
    for (const field of fields) {
      try {
        attributes[field] = read(map, field);
      } catch (paths) {
        unknownPaths.push(...(paths as string[]));
        if (!SOURCE_FIELDS.has(field)) unknownSourcesOnly = false;
      }
    }
    if (unknownPaths.length > 0) unknown.push({ map, paths: unknownPaths });
    // A rule whose protocol and ports are known and only some sources are not (ipv6_cidr_blocks left to apply
    // beside a known cidr_blocks) still admits its known sources: kept, and still unknown for the rest.
    if (unknownPaths.length > 0 && !unknownSourcesOnly) return;
    if (map.type === 'aws_security_group_rule' && attributes.type !== 'ingress') return;
    rules.push(ingressRule(attributes, String(map.type)));
  };
  if (SECURITY_GROUP_TYPES.has(String(resource.type))) {
    try {
      const blocks = read(resource, 'ingress');
      for (const block of Array.isArray(blocks) ? blocks : []) {
        if (typeof block === 'object' && block !== null) rules.push(ingressRule(block as Record<string, unknown>, 'inline'));
      }
    } catch (paths) {
      unknown.push({ map: resource, paths: paths as string[] });
    }
  } else {
    fromRuleResource(resource);
  }
  for (const referrer of referencedBy) fromRuleResource(referrer);
  return { rules, unknown };
}

const DAY_MS = 86_400_000;
// The attributes imports draw `resource.tags` from (see tagsOf in src/imports/canonical-mapping.ts).
const TAG_ATTRIBUTES = ['tags', 'tags_all', 'labels', 'effective_labels'];

function instantOf(value: unknown): number {
  const time = value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time)) throw new Error(`not a timestamp: ${JSON.stringify(value)}`);
  return time;
}

export const CEL_FUNCTIONS: readonly CelFunction[] = [
  {
    name: 'attr',
    signature: 'attr(map, string, dyn): dyn',
    description:
      'The value at a path (keys separated by dots, [n] for list items) in a map, or the default when any step is missing or the value is null. ' +
      'On a resource (resource, an item of related, referenced_by or account_defaults), a path that is unknown until apply (the resource\'s unknown_paths), ' +
      'lies below an unknown path, or holds one below it makes the value unknown: the condition is `unknown` unless a known branch of || or && decides it. ' +
      'Read attributes only through attr(): direct field access (resource.attributes.x) does not see unknown values.',
    example: "attr(resource, 'attributes.versioning[0].enabled', false) == false",
    handler: (map: Record<string, unknown>, path: string, fallback: unknown) => checkedValue(map, path) ?? fallback,
  },
  {
    name: 'attr',
    signature: 'attr(map, string): dyn',
    description:
      'The value at a path, required: a missing step or a null value makes it unknown (as an unknown-until-apply one does), so the condition is `unknown` ' +
      'rather than an error or a guess. For attributes a judgement cannot do without (a creation date, an expiry).',
    example: "daysBetween(attr(resource, 'attributes.create_date'), now) > 90.0",
    handler: (map: Record<string, unknown>, path: string) => {
      const value = checkedValue(map, path);
      if (value === undefined || value === null) raiseUnknown(unknownOwner(map), [path.startsWith('attributes.') ? path.slice('attributes.'.length) : path]);
      return value;
    },
  },
  {
    name: 'items',
    signature: 'items(map, string): list',
    description:
      'The items of the list (a nested block) at a path, as attr() reads it ([] when missing or null, a single value as a one-item list), each item ' +
      'readable with attr() which sees the unknown values below it. Unlike attr() on the list, an unknown value inside an item does not make the ' +
      'whole list unknown: size() and a test of other fields of the items stay decided. Unknown when the list itself, what holds it, or a whole ' +
      'item is unknown. Read the items\' fields only through attr().',
    example: "items(resource, 'attributes.origin').exists(o, 'SSLv3' in asList(attr(o, 'custom_origin_config[0].origin_ssl_protocols', [])))",
    handler: (map: Record<string, unknown>, path: string) => listItems(map, stepsOf(path)),
  },
  {
    name: 'ingressRules',
    signature: 'ingressRules(map, list): list',
    description:
      "A security group's ingress rules, whatever declared them: the group's inline `ingress` blocks and the aws_security_group_rule (type ingress) and " +
      'aws_vpc_security_group_ingress_rule resources among the second argument (pass referenced_by), or the rule resource itself. Each is ' +
      '{protocol: "-1" (all, -1) | "tcp" (6) | "udp" (17) | "icmp" (1) | "icmpv6" (58) | as written, from_port, to_port (0..65535 for protocol -1), ' +
      'all_ports (protocol -1 or the whole port range), sources (cidr_blocks, ipv6_cidr_blocks, cidr_ipv4, cidr_ipv6), origin ("inline" or the rule\'s type)}. ' +
      'Unknown when any rule is unknown.',
    example: "ingressRules(resource, referenced_by).exists(r, r.all_ports && r.sources.exists(s, isWorldOpen(s)))",
    handler: (resource: Record<string, unknown>, referencedBy: Record<string, unknown>[]) => {
      const { rules, unknown } = ingressOf(resource, referencedBy);
      if (unknown.length > 0) raiseUnknown(unknown[0]!.map, unknown[0]!.paths);
      return rules;
    },
  },
  {
    name: 'worldOpenIngress',
    signature: 'worldOpenIngress(map, list, int): bool',
    description:
      'Whether an ingress rule of the security group (see ingressRules) admits the whole internet (0.0.0.0/0, ::/0) to TCP port n, protocol tcp or -1 ' +
      'with n in from_port..to_port. True as soon as a known rule does (a rule resource whose protocol and ports are known counts with its known ' +
      'sources even when others, such as ipv6_cidr_blocks, are known only after apply); unknown when none does and a rule is unknown.',
    example: 'worldOpenIngress(resource, referenced_by, 22)',
    handler: (resource: Record<string, unknown>, referencedBy: Record<string, unknown>[], tcpPort: bigint) => {
      const { rules, unknown } = ingressOf(resource, referencedBy);
      if (rules.some((rule) => admitsWorldOnTcp(rule, Number(tcpPort)))) return true;
      if (unknown.length > 0) raiseUnknown(unknown[0]!.map, unknown[0]!.paths);
      return false;
    },
  },
  {
    name: 'knownTags',
    signature: 'knownTags(map): map',
    description:
      "A resource's tags (labels on GCP), as `resource.tags` holds them, but unknown when a tag is known only after apply: a tag set from another " +
      "resource's attribute, or tags the provider adds (AWS default_tags, GCP default_labels) in a plan that leaves them unknown. Use it instead of " +
      'resource.tags whenever a missing tag is a finding.',
    example: "!('owner' in knownTags(resource))",
    handler: (resource: Record<string, unknown>) => {
      const unknown = TAG_ATTRIBUTES.flatMap((name) => unknownPathsRead(resource, ['attributes', name]));
      if (unknown.length > 0) raiseUnknown(resource, unknown);
      return resource.tags ?? {};
    },
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
