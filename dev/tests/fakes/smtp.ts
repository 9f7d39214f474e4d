// A real SMTP server (npm smtp-server) on a loopback port for the SMTP email adapter's tests:
// accepts any login, records each message's envelope and raw source.
import { SMTPServer } from 'smtp-server';

export interface SmtpMail {
  from: string;
  to: string[];
  raw: string;
}

export interface FakeSmtp {
  url: string;
  mails: SmtpMail[];
  close(): Promise<void>;
}

export async function startSmtp(): Promise<FakeSmtp> {
  const mails: SmtpMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Uint8Array[] = [];
      stream.on('data', (c: Uint8Array) => chunks.push(c));
      stream.on('end', () => {
        const raw = new TextDecoder().decode(
          chunks.reduce((a, c) => {
            const out = new Uint8Array(a.length + c.length);
            out.set(a);
            out.set(c, a.length);
            return out;
          }, new Uint8Array()),
        );
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
        });
        callback();
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      // deno-lint-ignore no-explicit-any
      resolve(((server as any).server.address() as { port: number }).port);
    });
  });
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
