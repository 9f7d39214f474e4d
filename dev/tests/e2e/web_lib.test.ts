// The dashboard's pure helpers (no browser): CSV mapping and row checks, marking template variables,
// SMS segments and error words. (The campaign preview is the database's: bulk_send_preview.)
import assert from 'node:assert/strict';
import { guessMapping, mapRow, parseCsv } from '../../../web/src/lib/csv.ts';
import { markVariables } from '../../../web/src/lib/template.ts';
import { smsInfo } from '../../../common/sms_segments.ts';
import { errorInWords, humanError } from '../../../web/src/lib/format.ts';

Deno.test('csv: headers are mapped by name and each bad row gets its reason', () => {
  const csv = parseCsv(
    'Full Name,Mobile,E-mail,Labels,Marketing\nAna,+1 415 555 0100,ana@x.io,a;b,yes\n' +
      'Bob,12,,,\nCy,,,,\nDee,,dee@,,\n',
  );
  const m = guessMapping(csv.headers);
  assert.deepEqual(m, {
    name: 'Full Name',
    phone: 'Mobile',
    email: 'E-mail',
    tags: 'Labels',
    promotional_consent: 'Marketing',
  });
  const rows = csv.rows.map((r) => mapRow(r, m));
  assert.deepEqual(rows[0], {
    draft: {
      name: 'Ana',
      phone: '+1 415 555 0100',
      email: 'ana@x.io',
      whatsapp: null,
      tags: ['a', 'b'],
      promotional_consent: true,
    },
  });
  assert.deepEqual(rows[1], { error: '"12" is not a phone number' });
  assert.deepEqual(rows[2], { error: 'no phone, email or WhatsApp number' });
  assert.deepEqual(rows[3], { error: '"dee@" is not an email address' });
});

Deno.test('templates: the variables the database found are marked where they are', () => {
  const body = 'Hi {first_name}, see you at {time} {oops} {first_name}';
  const pieces = markVariables(body, [
    { name: 'first_name', known: true },
    { name: 'oops', known: false },
    { name: 'time', known: true },
  ]);
  assert.deepEqual(pieces, [
    'Hi ',
    { at: 3, text: '{first_name}', known: true },
    ', see you at ',
    { at: 28, text: '{time}', known: true },
    ' ',
    { at: 35, text: '{oops}', known: false },
    ' ',
    { at: 42, text: '{first_name}', known: true },
  ]);
  assert.equal(pieces.map((p) => (typeof p === 'string' ? p : p.text)).join(''), body);
});

Deno.test('sms: segments switch from GSM-7 to UCS-2 and split long texts', () => {
  assert.deepEqual(smsInfo(''), { segments: 0, encoding: 'GSM-7', chars: 0 });
  assert.equal(smsInfo('a'.repeat(160)).segments, 1);
  assert.equal(smsInfo('a'.repeat(161)).segments, 2);
  const emoji = smsInfo('Hello 👋');
  assert.equal(emoji.encoding, 'UCS-2');
  assert.equal(smsInfo('👋'.repeat(40)).segments, 2);
});

Deno.test('errors: provider codes and database errors are explained in words', () => {
  assert.match(errorInWords('21610'), /replied STOP/);
  assert.match(errorInWords('whatsapp_window_closed'), /24-hour window/);
  assert.equal(errorInWords('99999', 'Boom'), 'Boom (code 99999)');
  assert.equal(errorInWords(null, null), '');
  assert.match(humanError({ code: '23505', message: 'dup' }), /already exists/);
  assert.equal(
    humanError({ message: 'P0001: invalid phone number: 12' }),
    'invalid phone number: 12',
  );
});
