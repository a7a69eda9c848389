/** Recognisable prefixes of the OAuth secrets (made by `generateSecret` in src/secrets.ts). */
export const ACCESS_TOKEN_PREFIX = 'ffo_';
export const REFRESH_TOKEN_PREFIX = 'ffr_';
export const CLIENT_SECRET_PREFIX = 'ffs_';
export const CODE_PREFIX = 'ffc_';
