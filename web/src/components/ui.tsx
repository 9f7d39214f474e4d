/** @jsxImportSource preact */
// Small shared view pieces: labelled fields, errors and empty states in words, status badges.
import type { ComponentChildren } from 'preact';
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { SessionModel } from '../models/session.ts';
import type { WorkspaceModel } from '../models/workspace.ts';
import type { InboxModel } from '../models/inbox.ts';
import { STATUS_WORDS } from '../lib/format.ts';

export interface AppModels {
  session: SessionModel;
  workspace: WorkspaceModel;
  inbox: InboxModel;
  tenantId: string;
  userId: string;
}
export const AppContext = createContext<AppModels | null>(null);
export function useApp(): AppModels {
  const v = useContext(AppContext);
  if (!v) throw new Error('useApp outside the signed-in app');
  return v;
}

export function ErrorText({ children }: { children: ComponentChildren }) {
  if (!children) return null;
  return <p class='error' role='alert'>{children}</p>;
}

export function Notice({ children }: { children: ComponentChildren }) {
  if (!children) return null;
  return <p class='notice' role='status'>{children}</p>;
}

/** Says so wherever it matters when the business is in test mode (no Twilio account of its own). */
export function TestModeNotice() {
  const { workspace } = useApp();
  const m = workspace.sendingMode.value;
  if (m?.mode !== 'test') return null;
  return (
    <p class='warning test-mode' role='status' data-testid='test-mode'>
      {m.message ?? 'Test mode: SMS and WhatsApp messages are not sent.'}
    </p>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class='empty'>
      <p class='empty-title'>{title}</p>
      {children && <p>{children}</p>}
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return (
    <span class={`status status-${status}`} data-status={status}>
      {STATUS_WORDS[status] ?? status}
    </span>
  );
}

export function PageHeader({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <header class='page-header'>
      <h1>{title}</h1>
      <div class='page-actions'>{children}</div>
    </header>
  );
}

/** A copy-to-clipboard button with feedback for screen readers. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  return (
    <button
      type='button'
      class='secondary'
      aria-label={`Copy ${label}`}
      onClick={async (e) => {
        const btn = e.currentTarget;
        try {
          await navigator.clipboard.writeText(text);
          btn.textContent = 'Copied';
        } catch {
          btn.textContent = 'Select and copy';
        }
        setTimeout(() => (btn.textContent = 'Copy'), 1500);
      }}
    >
      Copy
    </button>
  );
}
