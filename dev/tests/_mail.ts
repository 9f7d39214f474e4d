// Reading the stack's mail catcher (Mailpit's API, dev/stack/mail_catcher.ts) the way a person reads
// their inbox: wait for the mail, take its link, follow it.
export interface Mail {
  ID: string;
  Subject: string;
  To: { Address: string }[];
  Text: string;
  HTML: string;
}

function mailpitUrl(): string {
  const url = Deno.env.get('MAILPIT_URL');
  if (!url) throw new Error('MAILPIT_URL is not set: run this suite through `deno task test`');
  return url;
}

/** All mails to `to`, newest first. */
export async function mailsTo(to: string): Promise<Mail[]> {
  const base = mailpitUrl();
  const q = encodeURIComponent(`to:${to}`);
  const list = await (await fetch(`${base}/api/v1/search?query=${q}`)).json();
  const out: Mail[] = [];
  for (const m of list.messages as { ID: string }[]) {
    out.push(await (await fetch(`${base}/api/v1/message/${m.ID}`)).json());
  }
  return out;
}

/** Waits (polling, 10 s deadline) until `to` has at least `count` mails; returns the newest. */
export async function waitForMail(to: string, count = 1): Promise<Mail> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const mails = await mailsTo(to);
    if (mails.length >= count) return mails[0];
    if (Date.now() > deadline) throw new Error(`no mail #${count} to ${to} within 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The first link of a mail's HTML body. */
export function linkIn(mail: Mail): string {
  const href = mail.HTML.match(/href="([^"]+)"/)?.[1];
  if (!href) throw new Error(`mail "${mail.Subject}" has no link`);
  return href.replace(/&amp;/g, '&').replace(/&quot;/g, '"');
}

/** Follows a /verify link as a browser would up to the redirect; returns its fragment. */
export async function followLink(
  link: string,
): Promise<{ location: string; params: URLSearchParams }> {
  const res = await fetch(link, { redirect: 'manual' });
  await res.body?.cancel();
  const location = res.headers.get('location');
  if (res.status !== 303 || !location) throw new Error(`${link} answered ${res.status}, not 303`);
  return { location, params: new URLSearchParams(new URL(location).hash.slice(1)) };
}
