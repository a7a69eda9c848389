import { parseNativeInventory } from './native-format';
import { parseTerraformShow } from './terraform-show-format';
import { parseTerraformState } from './terraform-state-format';
import type { ParseResult } from './canonical-resource';

export type ImportFormat = 'native' | 'terraform_state' | 'terraform_show';

export const IMPORT_FORMATS: readonly ImportFormat[] = ['native', 'terraform_state', 'terraform_show'];

/**
 * Maps an already-parsed inventory document onto canonical resources. Pure: no I/O.
 *
 * Imports are all or nothing: when `problems` is not empty the caller must write nothing.
 * `resources` still holds whatever could be mapped, which helps diagnostics and tests.
 */
export function parseInventory(format: ImportFormat, document: unknown): ParseResult {
  switch (format) {
    case 'native':
      return parseNativeInventory(document);
    case 'terraform_state':
      return parseTerraformState(document);
    case 'terraform_show':
      return parseTerraformShow(document);
    default:
      return {
        resources: [],
        problems: [{ item: '$', field: null, message: `unknown import format "${String(format)}"; expected one of ${IMPORT_FORMATS.join(', ')}` }],
      };
  }
}
