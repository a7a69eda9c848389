import type { Notification, NotificationItem, NotifiedResource } from './notification';

/** What a message says it is about: the singular and the plural. */
const WHAT: Record<string, [singular: string, plural: string]> = {
  secret_expiring: ['secret expiring', 'secrets expiring'],
  certificate_expiring: ['certificate expiring', 'certificates expiring'],
  key_expiring: ['key expiring', 'keys expiring'],
  risk_acceptance_expiring: ['risk acceptance ending', 'risk acceptances ending'],
  finding_opened: ['new finding', 'new findings'],
  finding_reopened: ['reopened finding', 'reopened findings'],
  audit_failed: ['audit failed', 'audits failed'],
  score_dropped: ['score dropped', 'scores dropped'],
  scan_completed: ['scan completed', 'scans completed'],
  scan_failed: ['scan failed', 'scans failed'],
  rotation_failed: ['rotation failed', 'rotations failed'],
  sync_failed: ['sync run failed', 'sync runs failed'],
  sync_conflict: ['sync conflict', 'sync conflicts'],
};

export interface RenderedMessage {
  subject: string;
  text: string;
  html: string;
}

/** One line of a message per item: what, when, where, and the API object it is about. */
export interface DescribedItem {
  title: string;
  when: string | null;
  where: string | null;
  link: string;
}

export function headline(notification: Notification): string {
  const [one, many] = WHAT[notification.type] ?? ['event', 'events'];
  const counted = `${notification.total} ${notification.total === 1 ? one : many}`;
  return notification.digest ? `daily summary, ${counted}` : counted;
}

/** An email of `notification`: what, where (account, resource, region), when it expires, and a link to each object. */
export function renderEmail(notification: Notification, publicUrl: string | undefined): RenderedMessage {
  const rule = notification.alert_rule?.name ?? 'fourfold';
  const subject = `[fourfold] ${rule}: ${headline(notification)}`;
  const lines = notification.items.map((item) => describeItem(item, publicUrl));
  const more = notification.total - notification.items.length;
  const intro = `${headline(notification)}, matched by the alert rule "${rule}":`;
  const footer = 'You receive this because an alert rule of your fourfold organization lists you.';
  const text = [
    intro,
    '',
    ...lines.map((l) => [`- ${l.title}`, l.when && `  ${l.when}`, l.where && `  Where: ${l.where}`, `  Details: ${l.link}`].filter(Boolean).join('\n')),
    ...(more > 0 ? [`… and ${more} more.`] : []),
    '',
    footer,
  ].join('\n');
  const html = [
    '<!doctype html><html><body style="font-family: sans-serif">',
    `<p>${escapeHtml(headline(notification))}, matched by the alert rule <strong>${escapeHtml(rule)}</strong>:</p>`,
    '<ul>',
    ...lines.map(
      (l) =>
        `<li><strong>${escapeHtml(l.title)}</strong>${l.when ? `<br>${escapeHtml(l.when)}` : ''}${l.where ? `<br>Where: ${escapeHtml(l.where)}` : ''}<br><a href="${escapeHtml(l.link)}">${escapeHtml(l.link)}</a></li>`,
    ),
    '</ul>',
    ...(more > 0 ? [`<p>… and ${more} more.</p>`] : []),
    `<p style="color: #666">${footer}</p>`,
    '</body></html>',
  ].join('\n');
  return { subject, text, html };
}

/** Slack takes at most 50 blocks in a message (Teams cards have a size limit too); the rest are counted. */
const MAX_SLACK_ITEMS = 20;

/** A Slack incoming-webhook message in Block Kit: a header, a section per item (the first 20), and how many more. */
export function renderSlack(notification: Notification, publicUrl: string | undefined) {
  const title = `${notification.alert_rule?.name ?? 'fourfold'}: ${headline(notification)}`;
  const shown = notification.items.slice(0, MAX_SLACK_ITEMS).map((item) => describeItem(item, publicUrl));
  const more = notification.total - shown.length;
  return {
    text: title,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
      ...shown.map((l) => ({
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: [/^https?:/.test(l.link) ? `*<${l.link}|${escapeSlack(l.title)}>*` : `*${escapeSlack(l.title)}*`, l.when && escapeSlack(l.when), l.where && `Where: ${escapeSlack(l.where)}`]
            .filter(Boolean)
            .join('\n')
            .slice(0, 3000),
        },
      })),
      ...(more > 0 ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: `… and ${more} more.` }] }] : []),
    ],
  };
}

/** A Teams incoming-webhook message: an Adaptive Card with a heading and a block per item (the first 20), and how many more. */
export function renderTeams(notification: Notification, publicUrl: string | undefined) {
  const title = `${notification.alert_rule?.name ?? 'fourfold'}: ${headline(notification)}`;
  const shown = notification.items.slice(0, MAX_SLACK_ITEMS).map((item) => describeItem(item, publicUrl));
  const more = notification.total - shown.length;
  const text = (value: string, extra: object = {}) => ({ type: 'TextBlock', text: value, wrap: true, ...extra });
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            text(title, { size: 'Medium', weight: 'Bolder' }),
            ...shown.flatMap((l) => [
              text(/^https?:/.test(l.link) ? `**[${l.title}](${l.link})**` : `**${l.title}**`, { separator: true }),
              ...(l.when ? [text(l.when, { spacing: 'None' })] : []),
              ...(l.where ? [text(`Where: ${l.where}`, { spacing: 'None', isSubtle: true })] : []),
            ]),
            ...(more > 0 ? [text(`… and ${more} more.`, { isSubtle: true })] : []),
          ],
        },
      },
    ],
  };
}

function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function describeItem(item: NotificationItem, publicUrl: string | undefined): DescribedItem {
  const base = publicUrl ?? '';
  switch (item.kind) {
    case 'expiry':
      return { title: named(item.resource), when: ending(item, 'Expires', 'Expired'), where: where(item.resource), link: `${base}/v1/resources/${item.resource.id}` };
    case 'risk_acceptance':
      return {
        title: `[${item.finding.severity}] ${item.finding.title} on ${named(item.resource)}`,
        when: ending(item, 'Risk acceptance ends', 'Risk acceptance ended'),
        where: where(item.resource),
        link: `${base}/v1/findings/${item.finding.id}`,
      };
    case 'finding':
      return {
        title: `[${item.finding.severity}] ${item.finding.title} on ${named(item.resource)}`,
        when: null,
        where: where(item.resource),
        link: `${base}/v1/findings/${item.finding.id}`,
      };
    case 'audit':
      return {
        title: `Audit ${item.audit.id} (${item.audit.mode}) ${item.audit.status}`,
        when: item.audit.error_message && `${item.audit.error_code}: ${item.audit.error_message}`,
        where: null,
        link: `${base}/v1/audits/${item.audit.id}`,
      };
    case 'scan':
      return {
        title: `Scan ${item.scan.id} (${item.scan.mode}) of ${item.account.name} (${item.account.external_id}) ${item.scan.status}${item.scan.failures > 0 ? `, ${item.scan.failures} ${item.scan.failures === 1 ? 'part' : 'parts'} unread` : ''}`,
        when: item.scan.error_message && `${item.scan.error_code}: ${item.scan.error_message}`,
        where: null,
        link: `${base}/v1/scans/${item.scan.id}`,
      };
    case 'rotation':
      return {
        title: `Rotation ${item.rotation.id} of credential ${item.rotation.key_id} (application ${item.rotation.application_id}) in ${item.account.name} ${item.rotation.status}`,
        when: item.rotation.error_message && `${item.rotation.failed_step ?? 'rotation'}: ${item.rotation.error_message}`,
        where: null,
        link: `${base}/v1/rotations/${item.rotation.id}`,
      };
    case 'sync':
      return item.result
        ? {
            title: `Sync "${item.sync.name}": ${item.result.item_kind} ${item.result.item_name} → ${item.result.target_service} ${item.result.target_name} changed outside fourfold, left untouched`,
            when: null,
            where: null,
            link: `${base}/v1/syncs/${item.sync.id}/runs/${item.run.id}`,
          }
        : {
            title: `Sync "${item.sync.name}" run ${item.run.id} ${item.run.status}`,
            when: item.run.error_message && `${item.run.error_code}: ${item.run.error_message}`,
            where: null,
            link: `${base}/v1/syncs/${item.sync.id}/runs/${item.run.id}`,
          };
    case 'score':
      return {
        title: `${item.score.replace(':', ' ')} score fell by ${item.drop} points, from ${item.previous} to ${item.current}`,
        when: `since audit ${item.previous_audit_id}`,
        where: null,
        link: `${base}/v1/audits/${item.audit_id}`,
      };
  }
}

function named(resource: NotifiedResource): string {
  return `${resource.name ?? resource.native_id} (${resource.type})`;
}

function where(resource: NotifiedResource): string {
  return `account ${resource.account.name} (${resource.account.external_id}), region ${resource.region ?? 'global'}, ${resource.native_id}`;
}

function ending(item: { expires_at: string; days_left: number; stage: string }, future: string, past: string): string {
  if (item.stage === 'expired') return `${past} on ${item.expires_at}`;
  return `${future} on ${item.expires_at} (${item.days_left} ${item.days_left === 1 ? 'day' : 'days'} left)`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
