import type { ExpiryItem, Notification } from './notification';

const WHAT: Record<string, [singular: string, plural: string]> = {
  secret_expiring: ['secret', 'secrets'],
  certificate_expiring: ['certificate', 'certificates'],
  key_expiring: ['key', 'keys'],
};

export interface RenderedMessage {
  subject: string;
  text: string;
  html: string;
}

/** An email of `notification`: what, where (account, resource, region), when it expires, and a link to each object. */
export function renderEmail(notification: Notification, publicUrl: string | undefined): RenderedMessage {
  const [one, many] = WHAT[notification.type] ?? ['item', 'items'];
  const count = notification.items.length;
  const rule = notification.alert_rule?.name ?? 'fourfold';
  const subject = `[fourfold] ${rule}: ${count} ${count === 1 ? one : many} expiring`;
  const lines = notification.items.map((item) => describe(item, publicUrl));
  const text = [
    `${count} ${count === 1 ? one : many} matched the alert rule "${rule}":`,
    '',
    ...lines.map((l) => [`- ${l.title}`, `  ${l.when}`, `  Where: ${l.where}`, `  Details: ${l.link}`].join('\n')),
    '',
    'You receive this because an alert rule of your fourfold organization lists you.',
  ].join('\n');
  const html = [
    '<!doctype html><html><body style="font-family: sans-serif">',
    `<p>${count} ${count === 1 ? one : many} matched the alert rule <strong>${escapeHtml(rule)}</strong>:</p>`,
    '<ul>',
    ...lines.map(
      (l) => `<li><strong>${escapeHtml(l.title)}</strong><br>${escapeHtml(l.when)}<br>Where: ${escapeHtml(l.where)}<br><a href="${escapeHtml(l.link)}">${escapeHtml(l.link)}</a></li>`,
    ),
    '</ul>',
    '<p style="color: #666">You receive this because an alert rule of your fourfold organization lists you.</p>',
    '</body></html>',
  ].join('\n');
  return { subject, text, html };
}

function describe(item: ExpiryItem, publicUrl: string | undefined) {
  const { resource } = item;
  const when =
    item.days_left < 0 || item.stage === 'expired'
      ? `Expired on ${item.expires_at}`
      : `Expires on ${item.expires_at} (${item.days_left} ${item.days_left === 1 ? 'day' : 'days'} left)`;
  return {
    title: `${resource.name ?? resource.native_id} (${resource.type})`,
    when,
    where: `account ${resource.account.name} (${resource.account.external_id}), region ${resource.region ?? 'global'}, ${resource.native_id}`,
    link: `${publicUrl ?? ''}/v1/resources/${resource.id}`,
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
