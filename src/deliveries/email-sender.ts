import type { Transporter } from 'nodemailer';
import type { AttemptOutcome } from './attempt-outcome';
import type { RenderedMessage } from './notification-text';

const transports = new Map<string, Transporter>();

/** Sends one message through the SMTP server at `smtpUrl`; SMTP 4xx replies and network errors are worth retrying, 5xx are not. */
export async function sendEmail(smtpUrl: string, from: string, to: string, message: RenderedMessage): Promise<AttemptOutcome> {
  let transport = transports.get(smtpUrl);
  if (!transport) {
    // Loaded at the first email (~10 MB resident), not in every process that can deliver alerts.
    const { default: nodemailer } = await import('nodemailer');
    transport = nodemailer.createTransport(smtpUrl);
    transports.set(smtpUrl, transport);
  }
  try {
    const info = await transport.sendMail({ from, to, subject: message.subject, text: message.text, html: message.html });
    const code = Number(/^(\d{3})/.exec(String(info.response))?.[1] ?? 250);
    return { ok: true, statusCode: code };
  } catch (error) {
    const responseCode = (error as { responseCode?: number }).responseCode;
    const reason = (error as Error).message.slice(0, 500);
    if (responseCode === undefined) return { ok: false, statusCode: null, error: reason, retryable: true };
    return { ok: false, statusCode: responseCode, error: `SMTP ${responseCode}: ${reason}`, retryable: responseCode < 500 };
  }
}
