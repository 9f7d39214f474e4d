/** @jsxImportSource preact */
// Channels: Twilio credentials (masked; the token only goes to the server), sync, numbers with
// rotation, the webhook URLs with copy buttons and the contact-form embed snippet.
import { useModel, useSignal } from '@preact/signals';
import { ChannelsModel } from '../models/channels.ts';
import { SettingsModel } from '../models/settings.ts';
import { FUNCTIONS_URL } from '../env.ts';
import { dateTime } from '../lib/format.ts';
import {
  CopyButton,
  Empty,
  ErrorText,
  Notice,
  PageHeader,
  TestModeNotice,
  useApp,
} from '../components/ui.tsx';

export default function ChannelsPage() {
  const { tenantId, workspace } = useApp();
  const slug = workspace.tenant.value?.slug ?? '';
  const m = useModel(() => new ChannelsModel(tenantId));
  const settings = useModel(() => new SettingsModel(tenantId));
  const sid = useSignal('');
  const token = useSignal('');
  const owner = workspace.isOwner.value;
  const cred = m.credentials.value;
  const hooks: [string, string][] = [
    // Twilio signs these URLs exactly as shown.
    ['Twilio messaging webhook (A message comes in)', `${FUNCTIONS_URL}/twilio-inbound`],
    ['Twilio status callback', `${FUNCTIONS_URL}/twilio-status`],
  ];
  if (cred?.email_inbound_url) {
    hooks.push(['Email inbound webhook (secret: keep it private)', cred.email_inbound_url]);
  }
  // The contact-form function takes the business slug; `website` is its honeypot field.
  const snippet = `<form method="post" action="${FUNCTIONS_URL}/contact-form">
  <input type="hidden" name="tenant" value="${slug}">
  <label>Name <input name="name" required></label>
  <label>Email <input name="email" type="email" required></label>
  <label>Phone <input name="phone" type="tel"></label>
  <label>Subject <input name="subject" required></label>
  <label>Message <textarea name="message" required></textarea></label>
  <input name="website" tabindex="-1" autocomplete="off" style="position:absolute;left:-9999px" aria-hidden="true">
  <button type="submit">Send</button>
</form>`;
  return (
    <section class='page'>
      <PageHeader title='Channels' />
      <TestModeNotice />
      <ErrorText>{m.error.value}</ErrorText>
      <Notice>{m.status.value}</Notice>
      <form
        class='card'
        aria-label='Twilio credentials'
        onSubmit={(e) => {
          e.preventDefault();
          void m.saveCredentials(sid.value.trim(), token.value.trim())
            .then(() => workspace.reloadSendingMode());
          token.value = '';
        }}
      >
        <h2>Twilio</h2>
        <p class='muted'>
          {cred?.configured
            ? `Connected: account ${cred.account_sid ?? ''}, token ${cred.auth_token ?? ''}${
              cred.verified_at ? `, verified ${dateTime(cred.verified_at)}` : ''
            }.`
            : cred?.platform_account
            ? 'Using the platform Twilio account (provisioned by the operator). Add your own to send from your numbers.'
            : 'Not connected yet: connect your own Twilio account to send SMS and WhatsApp and to import your numbers.'}
        </p>
        <fieldset disabled={!owner}>
          <div class='grid2'>
            <label>
              Account SID<input
                name='account_sid'
                required
                pattern='AC[0-9a-fA-F]{32}'
                value={sid.value}
                onInput={(e) => (sid.value = e.currentTarget.value)}
              />
            </label>
            <label>
              Auth token<input
                name='auth_token'
                type='password'
                autoComplete='off'
                required
                value={token.value}
                onInput={(e) => (token.value = e.currentTarget.value)}
              />
            </label>
          </div>
          <button type='submit'>Verify and save</button>
        </fieldset>
        <button
          type='button'
          class='secondary'
          disabled={m.syncing.value || !cred?.configured || !owner}
          onClick={() => m.sync()}
        >
          {m.syncing.value ? 'Syncing…' : 'Sync numbers, messages and calls'}
        </button>
        {m.syncing.value && <progress aria-label='Sync in progress' />}
      </form>
      <section class='card' aria-labelledby='num-h'>
        <h2 id='num-h'>Numbers</h2>
        {m.numbers.value.length === 0
          ? (
            <Empty title='No numbers yet'>
              Numbers come from your own Twilio account: connect it and sync.
            </Empty>
          )
          : (
            <ul class='list'>
              {m.numbers.value.map((n) => (
                <li key={n.id}>
                  <span>
                    <strong>{n.e164}</strong> {n.friendly_name}{' '}
                    <span class='muted'>
                      {[
                        n.sms && 'SMS',
                        n.mms && 'MMS',
                        n.whatsapp && 'WhatsApp',
                        n.voice && 'Voice',
                      ].filter(Boolean).join(', ')}
                      {n.last_used_at
                        ? ` · last used ${dateTime(n.last_used_at)}`
                        : ' · not used yet'}
                    </span>
                  </span>
                  <label class='check'>
                    <input
                      type='checkbox'
                      checked={n.rotation_enabled}
                      disabled={!owner}
                      onChange={(e) => m.setRotation(n.id, e.currentTarget.checked)}
                    />
                    In rotation
                  </label>
                </li>
              ))}
            </ul>
          )}
      </section>
      <form
        class='card'
        aria-label='Email settings'
        onSubmit={(e) => {
          e.preventDefault();
          const v = String(new FormData(e.currentTarget).get('email_from') ?? '').trim();
          settings.saveTenant({ email_from: v || null });
        }}
      >
        <h2>Email</h2>
        <ul class='list' aria-label='Email domains'>
          {m.domains.value.map((d) => (
            <li key={d.domain}>
              <span>
                <strong>{d.domain}</strong>{' '}
                <span class='muted' data-testid='domain-status'>
                  {d.verified_at
                    ? `verified ${dateTime(d.verified_at)}`
                    : 'waiting for verification by the operator (DNS records at the email provider)'}
                </span>
              </span>
            </li>
          ))}
        </ul>
        <fieldset disabled={!owner} class='row wrap'>
          <label>
            Add a sender domain
            <input name='domain' placeholder='example.com' aria-label='Sender domain' />
          </label>
          <button
            type='button'
            class='secondary'
            onClick={(e) => {
              const input = e.currentTarget.form?.elements.namedItem('domain') as
                | HTMLInputElement
                | null;
              if (input?.value.trim()) void m.addDomain(input.value).then(() => (input.value = ''));
            }}
          >
            Add domain
          </button>
        </fieldset>
        <fieldset disabled={!owner}>
          <label>
            Send email from: an address at a domain verified for your business, or "
            {workspace.tenant.value?.name ?? 'Your business'}{' '}
            {'<platform address>'}"; empty uses the platform address
            <input
              name='email_from'
              defaultValue={settings.tenant.value?.email_from ?? ''}
              key={settings.tenant.value?.id}
            />
          </label>
          <button type='submit'>Save email settings</button>
        </fieldset>
        <ErrorText>{settings.error.value}</ErrorText>
        <Notice>{settings.saved.value}</Notice>
      </form>
      <section class='card' aria-labelledby='hooks-h'>
        <h2 id='hooks-h'>Webhook URLs</h2>
        <p class='muted'>
          Paste these into Twilio (phone number → Messaging) and your email provider.
        </p>
        <ul class='list'>
          {hooks.map(([label, url]) => (
            <li key={url}>
              <span>
                <span class='muted'>{label}</span>
                <br />
                <code>{url}</code>
              </span>
              <CopyButton text={url} label={label} />
            </li>
          ))}
        </ul>
      </section>
      <section class='card' aria-labelledby='embed-h'>
        <h2 id='embed-h'>Contact form for your website</h2>
        <pre><code>{snippet}</code></pre>
        <CopyButton text={snippet} label='contact form snippet' />
      </section>
    </section>
  );
}
