/** @jsxImportSource preact */
// The app shell: sign-in gate, first business, sidebar navigation and routes. The inbox model
// lives here (not in its page) so the sidebar's unread badge stays live on every page. Pages other
// than the inbox load lazily, which keeps the first route's JavaScript small.
import { useModel } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { lazy, LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { AuthPage } from './pages/auth.tsx';
import { Onboarding } from './pages/onboarding.tsx';
import { InboxPage } from './pages/inbox.tsx';
import { SessionModel } from './models/session.ts';
import { WorkspaceModel } from './models/workspace.ts';
import { InboxModel } from './models/inbox.ts';
import { AppContext } from './components/ui.tsx';

const ContactsPage = lazy(() => import('./pages/contacts.tsx'));
const TemplatesPage = lazy(() => import('./pages/templates.tsx'));
const CampaignsPage = lazy(() => import('./pages/campaigns.tsx'));
const AutomationsPage = lazy(() => import('./pages/automations.tsx'));
const ChannelsPage = lazy(() => import('./pages/channels.tsx'));
const AnalyticsPage = lazy(() => import('./pages/analytics.tsx'));
const BusinessPage = lazy(() => import('./pages/business.tsx'));
const TeamPage = lazy(() => import('./pages/team.tsx'));

const NAV = [
  ['/', 'Inbox'],
  ['/contacts', 'Contacts'],
  ['/templates', 'Templates'],
  ['/campaigns', 'Campaigns'],
  ['/business', 'Orders & appointments'],
  ['/analytics', 'Analytics'],
  ['/automations', 'Automations'],
  ['/channels', 'Channels'],
  ['/team', 'Team'],
] as const;

export function App() {
  const session = useModel(SessionModel);
  if (!session.ready.value) return <p class='loading' role='status'>Loading…</p>;
  const user = session.user.value;
  if (!user) return <AuthPage session={session} />;
  return <Workspace key={user.id} session={session} userId={user.id} email={user.email ?? ''} />;
}

function Workspace(
  { session, userId, email }: { session: SessionModel; userId: string; email: string },
) {
  const workspace = useModel(() => new WorkspaceModel(userId));
  if (!workspace.loaded.value) return <p class='loading' role='status'>Loading your business…</p>;
  const tenant = workspace.tenant.value;
  if (!tenant) return <Onboarding workspace={workspace} session={session} email={email} />;
  return (
    <LocationProvider>
      <Shell
        key={tenant.id}
        session={session}
        workspace={workspace}
        tenantId={tenant.id}
        userId={userId}
        email={email}
      />
    </LocationProvider>
  );
}

function Shell(props: {
  session: SessionModel;
  workspace: WorkspaceModel;
  tenantId: string;
  userId: string;
  email: string;
}) {
  const { session, workspace, tenantId, userId, email } = props;
  const inbox = useModel(() => new InboxModel(tenantId, userId));
  const { path } = useLocation();
  const unread = inbox.unreadTotal.value;
  // The unread count in the tab title too, for owners working in another tab.
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) Switchboard` : 'Switchboard';
  }, [unread]);
  return (
    <AppContext.Provider value={{ session, workspace, inbox, tenantId, userId }}>
      <a class='skip' href='#main'>Skip to content</a>
      <div class='layout'>
        <nav class='sidebar' aria-label='Main'>
          <div class='brand'>Switchboard</div>
          {workspace.memberships.value.length > 1
            ? (
              <label class='tenant-switch'>
                <span class='sr-only'>Business</span>
                <select
                  value={tenantId}
                  onChange={(e) => workspace.select(e.currentTarget.value)}
                >
                  {workspace.memberships.value.map((m) => (
                    <option key={m.tenant.id} value={m.tenant.id}>{m.tenant.name}</option>
                  ))}
                </select>
              </label>
            )
            : <div class='tenant-name'>{workspace.tenant.value?.name}</div>}
          <ul>
            {NAV.map(([href, label]) => (
              <li key={href}>
                <a href={href} aria-current={path === href ? 'page' : undefined}>
                  {label}
                  {href === '/' && unread > 0 && (
                    <span class='badge' data-testid='unread-badge' aria-label={`${unread} unread`}>
                      {unread}
                    </span>
                  )}
                </a>
              </li>
            ))}
          </ul>
          <div class='me'>
            <span title={email}>{email}</span>
            <button type='button' class='link' onClick={() => session.signOut()}>Sign out</button>
          </div>
        </nav>
        <main id='main' tabIndex={-1}>
          <Router>
            <Route path='/' component={InboxPage} />
            <Route path='/contacts' component={ContactsPage} />
            <Route path='/templates' component={TemplatesPage} />
            <Route path='/campaigns' component={CampaignsPage} />
            <Route path='/automations' component={AutomationsPage} />
            <Route path='/channels' component={ChannelsPage} />
            <Route path='/analytics' component={AnalyticsPage} />
            <Route path='/business' component={BusinessPage} />
            <Route path='/team' component={TeamPage} />
            <Route default component={NotFound} />
          </Router>
        </main>
      </div>
    </AppContext.Provider>
  );
}

function NotFound() {
  return (
    <section class='page'>
      <h1>Page not found</h1>
      <p>
        <a href='/'>Back to the inbox</a>
      </p>
    </section>
  );
}
