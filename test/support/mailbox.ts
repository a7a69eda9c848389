import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  /** Header name (lower case) → value, unfolded. */
  headers: Record<string, string>;
  /** The decoded text/plain and text/html parts. */
  text: string;
  html: string;
  raw: string;
}

/**
 * A real SMTP server on a free local port that keeps what it receives. `reject` makes the next
 * messages fail with that SMTP reply code (each entry is used once).
 */
export async function startMailbox() {
  const received: ReceivedMail[] = [];
  const rejections: number[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const code = rejections.shift();
        if (code !== undefined) {
          const error = new Error(code >= 500 ? 'mailbox unavailable' : 'try again later') as Error & { responseCode: number };
          error.responseCode = code;
          return callback(error);
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        received.push({
          ...parseMail(raw),
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    reject: (...codes: number[]) => rejections.push(...codes),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function parseMail(raw: string): Pick<ReceivedMail, 'headers' | 'text' | 'html'> {
  const [head = '', ...rest] = raw.split(/\r?\n\r?\n/);
  const headers = parseHeaders(head);
  const body = rest.join('\r\n\r\n');
  const boundary = /boundary="?([^";]+)"?/.exec(headers['content-type'] ?? '')?.[1];
  const parts = boundary ? body.split(`--${boundary}`).slice(1, -1) : [`${head}\r\n\r\n${body}`];
  let text = '';
  let html = '';
  for (const part of parts) {
    const [partHead = '', ...partBody] = part.replace(/^\r?\n/, '').split(/\r?\n\r?\n/);
    const partHeaders = parseHeaders(partHead);
    const content = decode(partBody.join('\r\n\r\n'), partHeaders['content-transfer-encoding'] ?? '7bit');
    if ((partHeaders['content-type'] ?? '').startsWith('text/plain')) text = content;
    if ((partHeaders['content-type'] ?? '').startsWith('text/html')) html = content;
  }
  return { headers, text, html };
}

function parseHeaders(head: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function decode(content: string, encoding: string): string {
  if (encoding.toLowerCase() === 'quoted-printable') {
    const bytes = content.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8').replace(/\r\n/g, '\n').trim();
  }
  if (encoding.toLowerCase() === 'base64') return Buffer.from(content, 'base64').toString('utf8').replace(/\r\n/g, '\n').trim();
  return content.replace(/\r\n/g, '\n').trim();
}
