import type { Request, Response } from 'express';
import type { Db } from '../db/database';
import type { Schemas } from '../http/contract';
import { authenticateClient, type OAuthClient } from './oauth.service';

/**
 * The client calling the revocation or introspection endpoint and the token it names.
 * RFC 6749 §2.3.1: the client authenticates with HTTP Basic (form-encoded id and secret), or
 * `client_id`/`client_secret` in the body. When it fails, or the token is missing, the answer
 * (401 `invalid_client`, 400 `invalid_request`) is sent and nothing is returned.
 */
export async function authenticateTokenClient(
  db: Db,
  req: Request,
  res: Response,
  { confidentialOnly }: { confidentialOnly: boolean },
): Promise<{ client: OAuthClient; token: string } | undefined> {
  const body = req.body as Schemas['OAuthTokenActionRequest'];
  let clientId = body.client_id;
  let clientSecret = body.client_secret;
  const basic = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(req.get('authorization') ?? '');
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const decode = (value: string) => decodeURIComponent(value.replace(/\+/g, ' '));
    try {
      clientId = decode(decoded.slice(0, colon));
      clientSecret = decode(decoded.slice(colon + 1));
    } catch {
      clientId = undefined;
    }
  }
  const client = clientId ? await authenticateClient(db, clientId, clientSecret) : null;
  if (!client || (confidentialOnly && client.clientType !== 'confidential')) {
    if (basic) res.setHeader('WWW-Authenticate', 'Basic realm="fourfold"');
    res.status(401).json({ error: 'invalid_client', error_description: 'Invalid client: client authentication failed.' });
    return undefined;
  }
  if (!body.token) {
    res.status(400).json({ error: 'invalid_request', error_description: 'Missing parameter: `token`' });
    return undefined;
  }
  return { client, token: body.token };
}
