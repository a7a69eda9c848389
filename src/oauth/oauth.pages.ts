import { randomBytes } from 'node:crypto';
import type { Response } from 'express';
import type { OpenAPIV3_1 } from 'openapi-types';
import { loadOpenApiDocument } from '../http/openapi-document';

// The authorization server's pages: small, self-contained (no external resources), every value
// HTML-escaped, framed by nobody, and under a Content-Security-Policy that allows only their own
// nonce'd stylesheet and form posts to this server (and, for the consent form, to the client's
// redirect origin, where the answer redirects the browser).

/** The words for each scope: the descriptions the spec's oauth2 scheme gives them. */
const SCOPE_WORDS: Record<string, string> = (
  loadOpenApiDocument().document.components?.securitySchemes?.oauth2 as OpenAPIV3_1.OAuth2SecurityScheme
).flows.authorizationCode!.scopes;

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem; color: #1d2330; }
  h1 { font-size: 1.4rem; } .muted { color: #5b6475; } .alert { color: #a4161a; }
  label { display: block; margin: .75rem 0 .25rem; } input { width: 100%; padding: .5rem; box-sizing: border-box; }
  button { margin: 1rem .5rem 0 0; padding: .5rem 1.25rem; font-size: 1rem; }
  li { margin: .25rem 0; } code { background: #eef0f4; padding: 0 .25rem; }`;

interface PageOptions {
  status: number;
  title: string;
  body: string;
  /** Origins (besides this one) a form on the page may end up at through a redirect. */
  formTargets?: string[];
}

export function sendPage(res: Response, { status, title, body, formTargets = [] }: PageOptions): void {
  const nonce = randomBytes(16).toString('base64');
  res.setHeader(
    'Content-Security-Policy',
    [
      "default-src 'none'",
      `style-src 'nonce-${nonce}'`,
      `form-action 'self'${formTargets.map((origin) => ` ${origin}`).join('')}`,
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join('; '),
  );
  res.setHeader('Cache-Control', 'no-store');
  // Browsers send `Origin: null` on form posts from a `no-referrer` page; `same-origin` keeps the
  // real Origin on posts to this server (our CSRF check) and still sends no Referer elsewhere.
  res.setHeader('Referrer-Policy', 'same-origin');
  res
    .status(status)
    .type('text/html')
    .end(
      `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`,
    );
}

function hiddenFields(fields: Record<string, string | undefined>): string {
  return Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value!)}">`)
    .join('\n');
}

export function sendLoginPage(res: Response, options: { status: number; returnTo: string; clientName: string; error?: string }): void {
  sendPage(res, {
    status: options.status,
    title: 'Log in to fourfold',
    body: `<h1>Log in to fourfold</h1>
<p class="muted">to continue to <strong>${escapeHtml(options.clientName)}</strong></p>
${options.error ? `<p class="alert" role="alert">${escapeHtml(options.error)}</p>` : ''}
<form method="post" action="/oauth/login">
${hiddenFields({ return_to: options.returnTo })}
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
</form>`,
  });
}

export function sendConsentPage(
  res: Response,
  options: {
    clientName: string;
    username: string;
    granted: readonly string[];
    withheld: readonly string[];
    redirectOrigin: string;
    fields: Record<string, string | undefined>;
  },
): void {
  const item = (scope: string) => `<li>${escapeHtml(SCOPE_WORDS[scope] ?? scope)} <code>${escapeHtml(scope)}</code></li>`;
  sendPage(res, {
    status: 200,
    title: `Authorize ${options.clientName}`,
    formTargets: [options.redirectOrigin],
    body: `<h1><strong>${escapeHtml(options.clientName)}</strong> wants to access your fourfold account</h1>
<p class="muted">Logged in as ${escapeHtml(options.username)}. If you approve, it will be able to:</p>
<ul id="scopes">
${options.granted.map(item).join('\n')}
</ul>
${
  options.withheld.length > 0
    ? `<p class="muted">It also asked for the following, which it will not get (the app is not allowed them, or your role does not hold them):</p>
<ul id="withheld">
${options.withheld.map(item).join('\n')}
</ul>`
    : ''
}
<p class="muted">You will be sent back to <code>${escapeHtml(options.redirectOrigin)}</code>. You can revoke access at any time.</p>
<form method="post" action="/oauth/authorize">
${hiddenFields(options.fields)}
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`,
  });
}

export function sendErrorPage(res: Response, status: number, heading: string, message: string): void {
  sendPage(res, {
    status,
    title: 'Authorization failed',
    body: `<h1>${escapeHtml(heading)}</h1>
<p role="alert">${escapeHtml(message)}</p>
<p class="muted">Nothing was shared with the app. Tell its developer about this error.</p>`,
  });
}
