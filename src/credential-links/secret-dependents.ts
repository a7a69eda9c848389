import type { Schemas } from '../http/contract';

export type SecretReference = Schemas['Dependent']['references'][number];

/** How a secret is named in other resources' configuration. */
export interface SecretTarget {
  form: SecretReference['form'];
  /** Answers whether a string names the secret. */
  matches(value: string): boolean;
}

/** The resource types whose attributes may name a secret of each store type. */
export const DEPENDENT_TYPES: Record<string, string[]> = {
  azurerm_key_vault_secret: [
    'azurerm_linux_web_app', 'azurerm_windows_web_app', 'azurerm_linux_function_app', 'azurerm_windows_function_app',
    'azurerm_app_service', 'azurerm_function_app', 'azurerm_linux_web_app_slot', 'azurerm_windows_web_app_slot',
    'azurerm_linux_function_app_slot', 'azurerm_windows_function_app_slot', 'azurerm_logic_app_standard',
  ],
  aws_secretsmanager_secret: ['aws_lambda_function', 'aws_ecs_task_definition'],
  google_secret_manager_secret: ['google_cloud_run_v2_service', 'google_cloud_run_v2_job', 'google_cloud_run_service'],
};

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function escape(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * What names a secret, from its attributes; null when they do not say enough.
 * - Key Vault: `@Microsoft.KeyVault(SecretUri=https://<vault>.vault.azure.net/secrets/<name>[/<version>])`
 *   or `@Microsoft.KeyVault(VaultName=<vault>;SecretName=<name>[;SecretVersion=…])`, names compared without case.
 * - Secrets Manager: the ARN, its partial form without the 6-character suffix, or either with
 *   ECS's `:json-key:version-stage:version-id` suffix.
 * - Secret Manager: `projects/<project>/secrets/<name>[/versions/…]`, or the bare name (same project).
 */
export function secretTarget(type: string, name: string | null, attributes: Record<string, unknown>): SecretTarget | null {
  if (type === 'azurerm_key_vault_secret') {
    const uri = text(attributes.versionless_id) ?? text(attributes.resource_versionless_id) ?? text(attributes.id);
    const secretName = (text(attributes.name) ?? name)?.toLowerCase() ?? null;
    const vault = uri === null ? (text(attributes.key_vault_id)?.split('/').at(-1) ?? null) : (/^https:\/\/([^./]+)\./i.exec(uri)?.[1] ?? null);
    if (secretName === null || vault === null) return null;
    const vaultLower = vault.toLowerCase();
    return {
      form: 'key_vault_reference',
      matches: (value) => {
        for (const match of value.matchAll(/@Microsoft\.KeyVault\(([^)]*)\)/gi)) {
          const body = match[1] ?? '';
          const byUri = /SecretUri=https:\/\/([^./]+)\.[^/]+\/secrets\/([^/;\s]+)/i.exec(body);
          if (byUri !== null && byUri[1]?.toLowerCase() === vaultLower && byUri[2]?.toLowerCase() === secretName) return true;
          const vaultName = /VaultName=([^;\s]+)/i.exec(body)?.[1]?.toLowerCase();
          const named = /SecretName=([^;\s]+)/i.exec(body)?.[1]?.toLowerCase();
          if (vaultName === vaultLower && named === secretName) return true;
        }
        return false;
      },
    };
  }
  if (type === 'aws_secretsmanager_secret') {
    const arn = text(attributes.arn) ?? text(attributes.id);
    if (arn === null || !arn.startsWith('arn:')) return null;
    // A secret's ARN ends in -<6 random characters>; a partial ARN leaves them out.
    const partial = arn.replace(/-[A-Za-z0-9]{6}$/, '');
    const pattern = new RegExp(`${escape(partial)}(-[A-Za-z0-9]{6})?(?=$|[:"'\\s,])`);
    return { form: 'secrets_manager_arn', matches: (value) => pattern.test(value) };
  }
  if (type === 'google_secret_manager_secret') {
    const secretId = text(attributes.secret_id) ?? name;
    const project = text(attributes.project);
    if (secretId === null) return null;
    const full = new RegExp(`^projects/([^/]+)/secrets/${escape(secretId)}(/versions/[^/]+)?$`);
    return {
      form: 'secret_manager_reference',
      matches: (value) => {
        if (value === secretId) return true;
        const m = full.exec(value);
        return m !== null && (project === null || m[1] === project);
      },
    };
  }
  return null;
}

/** The attributes of a Cloud Run service or job that hold a secret's name (v2 `secret`, v1 volumes' `secret_name`, v1 `secret_key_ref[0].name`). */
const CLOUD_RUN_SECRET_KEYS = new Set(['secret', 'secret_name']);

/**
 * The attribute paths of `attributes` whose string value names the target, in the rules' path
 * syntax (`app_settings.DB_PASSWORD`, `environment[0].variables.DB_SECRET_ARN`). JSON held in a
 * string (an ECS task definition's `container_definitions`) is read as JSON, its paths continuing
 * inside it. For Cloud Run only the secret-reference fields count: a plain environment value is text.
 */
export function referencesIn(attributes: Record<string, unknown>, dependentType: string, target: SecretTarget): SecretReference[] {
  const found: SecretReference[] = [];
  const cloudRun = dependentType.startsWith('google_cloud_run');
  const visit = (value: unknown, path: string, key: string | null): void => {
    if (typeof value === 'string') {
      if (value.startsWith('[') || value.startsWith('{')) {
        try {
          visit(JSON.parse(value) as unknown, path, key);
          return;
        } catch {
          // not JSON: compared as text below
        }
      }
      const secretField = key !== null && (CLOUD_RUN_SECRET_KEYS.has(key) || (key === 'name' && path.includes('secret_key_ref')));
      if ((!cloudRun || secretField) && target.matches(value)) found.push({ attribute_path: path, form: target.form });
      return;
    }
    if (Array.isArray(value)) {
      value.forEach((item, index) => visit(item, `${path}[${index}]`, key));
      return;
    }
    if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) visit(v, path === '' ? k : `${path}.${k}`, k);
    }
  };
  visit(attributes, '', null);
  return found;
}
