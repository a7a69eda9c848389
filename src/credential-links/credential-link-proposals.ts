import type { CredentialLinkReasonData } from '../db/schema';

/** What the proposal reads of a resource. */
export interface LinkCandidate {
  id: string;
  type: string;
  name: string | null;
  tags: Record<string, string>;
  attributes: Record<string, unknown>;
}

export interface LinkProposal {
  credentialId: string;
  storeId: string;
  confidence: number;
  reasons: CredentialLinkReasonData[];
}

/** A pair whose reasons combine to less than this is not proposed. */
export const MIN_CONFIDENCE = 0.3;

const KEY_ID_TAG = 0.95;
const OWNER_TAG = 0.7;
const CONTENT_TYPE_ID = 0.6;
const CONTENT_TYPE_NAME = 0.4;
const NAME_SIMILARITY_MAX = 0.5;
/** A name alone, across clouds (payments-api in Entra ID and in AWS), is weak: never enough by itself. */
const CROSS_CLOUD_NAME_SIMILARITY_MAX = 0.25;
const MIN_SIMILARITY = 0.5;

/** Words that say "this is a credential" and so tell nothing about whose. */
const CREDENTIAL_WORDS = new Set(['secret', 'secrets', 'key', 'keys', 'password', 'passwd', 'pwd', 'client', 'credential', 'credentials', 'cred', 'creds', 'token', 'access', 'id', 'value', 'sa', 'iam', 'gserviceaccount', 'com']);

interface Identity {
  /** Identifiers that name this credential exactly, and what each is. */
  exact: { value: string; what: string }[];
  /** Identifiers of its owner (application, user, service account), which may hold several credentials. */
  owner: { value: string; what: string }[];
  /** Human names of its owner, for name similarity. */
  names: string[];
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

/** The identifiers and names a store entry could be tagged or named with, per credential type. */
export function identityOf(credential: LinkCandidate): Identity {
  const a = credential.attributes;
  const exact: Identity['exact'] = [];
  const owner: Identity['owner'] = [];
  const names: string[] = [];
  const add = (list: { value: string; what: string }[], value: unknown, what: string): void => {
    const v = text(value);
    if (v !== null) list.push({ value: v.toLowerCase(), what });
  };
  switch (credential.type) {
    case 'azuread_application_password':
    case 'azuread_application_certificate': {
      add(exact, a.key_id, 'key id');
      const objectId = text(a.application_object_id) ?? text(a.application_id)?.replace(/^\/applications\//, '') ?? null;
      add(owner, objectId, "application's object id");
      add(owner, a.application_client_id, "application's client id");
      const appName = text(a.application_display_name);
      if (appName !== null) names.push(appName);
      break;
    }
    case 'aws_iam_access_key':
      add(exact, a.id ?? credential.name, 'access key id');
      add(owner, a.user, 'IAM user');
      if (text(a.user) !== null) names.push(text(a.user) as string);
      break;
    case 'google_service_account_key': {
      add(exact, a.key_id, 'key id');
      add(owner, a.service_account_id, 'service account');
      const email = text(a.service_account_id);
      if (email !== null) {
        // GCP label values cannot hold an email: a label names the account by its id, the part before @.
        add(owner, email.split('@')[0], "service account's id");
        names.push(email.split('@')[0] as string);
      }
      break;
    }
    default:
      break;
  }
  return { exact, owner, names };
}

/** The words of a name: split on anything not a letter or digit and at camelCase, lowercased, credential words left out. */
export function wordsOf(name: string): Set<string> {
  return new Set(
    name
      .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter((w) => w.length > 1 && !CREDENTIAL_WORDS.has(w)),
  );
}

/** Sørensen–Dice coefficient of two word sets: 1 when they are the same words, 0 when none is shared. */
export function nameSimilarity(a: string, b: string): number {
  const x = wordsOf(a);
  const y = wordsOf(b);
  if (x.size === 0 || y.size === 0) return 0;
  let shared = 0;
  for (const w of x) if (y.has(w)) shared += 1;
  return (2 * shared) / (x.size + y.size);
}

/** The cloud of a Terraform type: azuread and azurerm are both Azure's. */
function cloudOf(type: string): string {
  const prefix = type.split('_')[0] ?? '';
  return prefix === 'azuread' ? 'azurerm' : prefix;
}

function storeName(store: LinkCandidate): string {
  return text(store.name) ?? text(store.attributes.name) ?? '';
}

/** The reasons a store entry may hold a credential, each with its own confidence. */
function reasonsFor(credential: LinkCandidate, identity: Identity, store: LinkCandidate): { confidence: number; reason: CredentialLinkReasonData }[] {
  const found: { confidence: number; reason: CredentialLinkReasonData }[] = [];
  for (const [key, value] of Object.entries(store.tags)) {
    const v = value.trim().toLowerCase();
    if (v === '') continue;
    const exact = identity.exact.find((i) => i.value === v);
    const owner = exact === undefined ? identity.owner.find((i) => i.value === v) : undefined;
    const match = exact ?? owner;
    if (match !== undefined) {
      found.push({ confidence: exact !== undefined ? KEY_ID_TAG : OWNER_TAG, reason: { kind: 'tag', detail: `tag ${key}=${value} names the credential's ${match.what}` } });
    }
  }
  const contentType = store.type === 'azurerm_key_vault_secret' ? text(store.attributes.content_type)?.toLowerCase() ?? null : null;
  if (contentType !== null) {
    const id = [...identity.exact, ...identity.owner].find((i) => contentType.includes(i.value));
    const name = id === undefined ? identity.names.find((n) => n.length > 2 && contentType.includes(n.toLowerCase())) : undefined;
    if (id !== undefined) found.push({ confidence: CONTENT_TYPE_ID, reason: { kind: 'content_type', detail: `content type "${contentType}" names the credential's ${id.what}` } });
    else if (name !== undefined) found.push({ confidence: CONTENT_TYPE_NAME, reason: { kind: 'content_type', detail: `content type "${contentType}" names ${name}` } });
  }
  const entryName = storeName(store);
  let best: { similarity: number; name: string } | null = null;
  for (const name of identity.names) {
    const similarity = nameSimilarity(entryName, name);
    if (similarity >= MIN_SIMILARITY && (best === null || similarity > best.similarity)) best = { similarity, name };
  }
  if (best !== null) {
    const weight = cloudOf(credential.type) === cloudOf(store.type) ? NAME_SIMILARITY_MAX : CROSS_CLOUD_NAME_SIMILARITY_MAX;
    found.push({ confidence: round(weight * best.similarity), reason: { kind: 'name_similarity', detail: `name ${entryName} shares its words with ${best.name} (${Math.round(best.similarity * 100)} %)` } });
  }
  return found;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/**
 * Every (credential, store entry) pair some reason supports enough: reasons combine as independent
 * evidence, 1 − Π(1 − cᵢ). Pairs are compared one by one: credentials and store entries are
 * each a small part of an inventory.
 */
export function proposeLinks(credentials: LinkCandidate[], stores: LinkCandidate[]): LinkProposal[] {
  const proposals: LinkProposal[] = [];
  for (const credential of credentials) {
    const identity = identityOf(credential);
    if (identity.exact.length === 0 && identity.owner.length === 0 && identity.names.length === 0) continue;
    for (const store of stores) {
      const found = reasonsFor(credential, identity, store);
      if (found.length === 0) continue;
      const confidence = round(1 - found.reduce((rest, f) => rest * (1 - f.confidence), 1));
      if (confidence < MIN_CONFIDENCE) continue;
      proposals.push({ credentialId: credential.id, storeId: store.id, confidence, reasons: found.map((f) => f.reason) });
    }
  }
  return proposals;
}
