import { FourfoldError } from './errors.js';

/** A personal access token (or any bearer token the API takes). */
export interface TokenCredentials {
  token: string;
}

/** A username and password: the client logs in (`POST /auth/login`) and logs in again when the token expires. */
export interface PasswordCredentials {
  username: string;
  password: string;
}

export interface OAuthTokens {
  accessToken: string;
  refreshToken: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

/**
 * An OAuth client holding a refresh token: the client exchanges it (`grant_type=refresh_token`)
 * for an access token when it has none or it expires. Refresh tokens are single-use: each
 * refresh answers a new one, handed to `onTokens` so that you can keep it.
 */
export interface OAuthCredentials {
  oauth: {
    clientId: string;
    clientSecret?: string;
    refreshToken: string;
    accessToken?: string;
    /** With `accessToken`: when it expires, in milliseconds since the epoch. */
    expiresAt?: number;
    onTokens?: (tokens: OAuthTokens) => void | Promise<void>;
  };
}

export type Credentials = TokenCredentials | PasswordCredentials | OAuthCredentials;

/** Tokens are renewed this long before they expire, so that none expires on the way. */
const EARLY_MS = 30_000;

interface Token {
  value: string;
  expiresAt: number;
}

/** Hands out the bearer token of each request, and renews it (at most one renewal at a time). */
export class TokenSource {
  private current: Token | undefined;
  private renewing: Promise<Token> | undefined;
  private refreshToken: string | undefined;

  constructor(
    private readonly credentials: Credentials | undefined,
    private readonly baseUrl: string,
    private readonly fetchImpl: (request: Request) => Promise<Response>,
  ) {
    if (credentials && 'token' in credentials) this.current = { value: credentials.token, expiresAt: Infinity };
    if (credentials && 'oauth' in credentials) {
      this.refreshToken = credentials.oauth.refreshToken;
      if (credentials.oauth.accessToken) {
        this.current = { value: credentials.oauth.accessToken, expiresAt: credentials.oauth.expiresAt ?? Infinity };
      }
    }
  }

  /** Whether a rejected token can be replaced by another (a login or a refresh). */
  get renewable(): boolean {
    return this.credentials !== undefined && !('token' in this.credentials);
  }

  async token(): Promise<string | undefined> {
    if (!this.credentials) return undefined;
    if (this.current && this.current.expiresAt - EARLY_MS > Date.now()) return this.current.value;
    return (await this.renew()).value;
  }

  /** Replaces `rejected` (answered 401); a token renewed meanwhile by another request is kept. */
  async renew(rejected?: string): Promise<Token> {
    if (rejected !== undefined && this.current && this.current.value !== rejected) return this.current;
    this.renewing ??= this.obtain().finally(() => {
      this.renewing = undefined;
    });
    this.current = await this.renewing;
    return this.current;
  }

  private async obtain(): Promise<Token> {
    const credentials = this.credentials;
    if (credentials && 'username' in credentials) {
      const body = await this.post('/auth/login', 'application/json', JSON.stringify({ username: credentials.username, password: credentials.password }));
      return { value: body.access_token as string, expiresAt: Date.now() + (body.expires_in as number) * 1000 };
    }
    if (credentials && 'oauth' in credentials) {
      const { clientId, clientSecret, onTokens } = credentials.oauth;
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: this.refreshToken ?? '', client_id: clientId });
      if (clientSecret !== undefined) form.set('client_secret', clientSecret);
      const body = await this.post('/oauth/token', 'application/x-www-form-urlencoded', form.toString());
      const tokens: OAuthTokens = {
        accessToken: body.access_token as string,
        refreshToken: body.refresh_token as string,
        expiresAt: Date.now() + (body.expires_in as number) * 1000,
      };
      this.refreshToken = tokens.refreshToken;
      await onTokens?.(tokens);
      return { value: tokens.accessToken, expiresAt: tokens.expiresAt };
    }
    throw new Error('a personal access token cannot be renewed');
  }

  private async post(path: string, contentType: string, body: string): Promise<Record<string, unknown>> {
    const response = await this.fetchImpl(new Request(new URL(path, this.baseUrl), { method: 'POST', headers: { 'Content-Type': contentType }, body }));
    if (!response.ok) throw await FourfoldError.from(response);
    return (await response.json()) as Record<string, unknown>;
  }
}
