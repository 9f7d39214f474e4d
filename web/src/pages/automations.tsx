/** @jsxImportSource preact */
// Automations and business settings: each automation on/off with its template, quiet hours,
// business hours, AI auto-reply and the HELP text.
import { useModel } from '@preact/signals';
import { AUTOMATION_WORDS, SettingsModel } from '../models/settings.ts';
import { ErrorText, Notice, PageHeader, useApp } from '../components/ui.tsx';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

export default function AutomationsPage() {
  const { tenantId, workspace } = useApp();
  const m = useModel(() => new SettingsModel(tenantId));
  const t = m.tenant.value;
  const owner = workspace.isOwner.value;
  if (!t) {
    return (
      <section class='page'>
        <PageHeader title='Automations' />
        <ErrorText>{m.error.value}</ErrorText>
        <p role='status'>Loading…</p>
      </section>
    );
  }
  const hours = (t.business_hours ?? {}) as Record<string, [string, string] | null>;
  return (
    <section class='page'>
      <PageHeader title='Automations' />
      {!owner && <p class='notice'>Only owners can change these settings.</p>}
      <ErrorText>{m.error.value}</ErrorText>
      <Notice>{m.saved.value}</Notice>
      <fieldset disabled={!owner}>
        <legend>Automatic messages</legend>
        {m.automations.value.length === 0 && (
          <p class='muted'>No automations are set up for this business yet.</p>
        )}
        <ul class='list'>
          {m.automations.value.map((a) => (
            <li key={a.id}>
              <label class='check'>
                <input
                  type='checkbox'
                  checked={a.enabled}
                  onChange={(e) => m.saveAutomation(a.id, { enabled: e.currentTarget.checked })}
                />
                {AUTOMATION_WORDS[a.kind] ?? a.kind}
              </label>
              <label>
                <span class='sr-only'>Template for {AUTOMATION_WORDS[a.kind]}</span>
                <select
                  value={a.template_id ?? ''}
                  onChange={(e) =>
                    m.saveAutomation(a.id, { template_id: e.currentTarget.value || null })}
                >
                  <option value=''>(default text)</option>
                  {m.templates.value.map((tp) => (
                    <option key={tp.id} value={tp.id}>{tp.name}</option>
                  ))}
                </select>
              </label>
            </li>
          ))}
        </ul>
      </fieldset>
      <form
        class='card'
        aria-label='Business settings'
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          const bh: Record<string, [string, string] | null> = {};
          for (const d of DAYS) {
            bh[d] = f.get(`${d}_open`)
              ? [String(f.get(`${d}_from`)), String(f.get(`${d}_to`))]
              : null;
          }
          m.saveTenant({
            quiet_hours_start: String(f.get('quiet_start')),
            quiet_hours_end: String(f.get('quiet_end')),
            business_hours: bh,
            help_text: String(f.get('help_text')),
            auto_reply_enabled: f.get('ai_enabled') === 'on',
            auto_reply_provider: String(f.get('ai_provider')),
            // A model belongs to its provider (the allow-list in private.ai_models): another
            // provider starts from its default model.
            ...(String(f.get('ai_provider')) !== t.auto_reply_provider
              ? { auto_reply_model: null }
              : {}),
            auto_reply_tone: String(f.get('ai_tone')),
            auto_reply_instructions: String(f.get('ai_instructions')),
            auto_reply_cap_per_hour: Number(f.get('ai_cap')),
            auto_reply_hours: String(f.get('ai_hours')),
            holding_message: String(f.get('holding')) || null,
          });
        }}
      >
        <fieldset disabled={!owner}>
          <legend>Quiet hours (no automatic messages)</legend>
          <div class='row'>
            <label>
              From<input
                type='time'
                name='quiet_start'
                defaultValue={t.quiet_hours_start.slice(0, 5)}
              />
            </label>
            <label>
              To<input type='time' name='quiet_end' defaultValue={t.quiet_hours_end.slice(0, 5)} />
            </label>
          </div>
        </fieldset>
        <fieldset disabled={!owner}>
          <legend>Business hours ({t.timezone})</legend>
          {DAYS.map((d) => (
            <div class='row' key={d}>
              <label class='check'>
                <input type='checkbox' name={`${d}_open`} defaultChecked={!!hours[d]} />
                {d}
              </label>
              <label>
                <span class='sr-only'>{d} opens</span>
                <input type='time' name={`${d}_from`} defaultValue={hours[d]?.[0] ?? '09:00'} />
              </label>
              <label>
                <span class='sr-only'>{d} closes</span>
                <input type='time' name={`${d}_to`} defaultValue={hours[d]?.[1] ?? '17:00'} />
              </label>
            </div>
          ))}
        </fieldset>
        <fieldset disabled={!owner}>
          <legend>AI auto-reply</legend>
          <label class='check'>
            <input type='checkbox' name='ai_enabled' defaultChecked={t.auto_reply_enabled} />Reply
            automatically with AI
          </label>
          <div class='grid2'>
            <label>
              Provider
              <select name='ai_provider' defaultValue={t.auto_reply_provider}>
                <option value='anthropic'>Anthropic</option>
                <option value='gemini'>Gemini</option>
              </select>
            </label>
            <label>
              Tone
              <select name='ai_tone' defaultValue={t.auto_reply_tone}>
                <option value='professional'>Professional</option>
                <option value='friendly'>Friendly</option>
                <option value='casual'>Casual</option>
              </select>
            </label>
            <label>
              Replies per conversation per hour<input
                type='number'
                min={0}
                max={100}
                name='ai_cap'
                defaultValue={String(t.auto_reply_cap_per_hour)}
              />
            </label>
            <label>
              When
              <select name='ai_hours' defaultValue={t.auto_reply_hours}>
                <option value='always'>Always</option>
                <option value='outside_hours'>Only outside business hours</option>
                <option value='within_hours'>Only during business hours</option>
              </select>
            </label>
          </div>
          <label>
            Instructions<textarea
              name='ai_instructions'
              rows={3}
              defaultValue={t.auto_reply_instructions}
            />
          </label>
          <label>
            Holding message (sent when the AI hands over to a person)<input
              name='holding'
              defaultValue={t.holding_message ?? ''}
            />
          </label>
        </fieldset>
        <fieldset disabled={!owner}>
          <legend>HELP reply</legend>
          <label>
            Text sent when a customer texts HELP<textarea
              name='help_text'
              rows={2}
              defaultValue={t.help_text}
            />
          </label>
        </fieldset>
        <button type='submit' disabled={!owner}>Save settings</button>
      </form>
    </section>
  );
}
