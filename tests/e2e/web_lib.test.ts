// The dashboard's pure helpers (no browser): CSV mapping and row checks, template variables,
// SMS segments, the campaign skip preview and error words.
import assert from 'node:assert/strict';
import { guessMapping, mapRow, parseCsv } from '../../web/src/lib/csv.ts';
import { renderTemplate, variablesIn } from '../../web/src/lib/template.ts';
import { smsInfo } from '../../web/src/lib/sms.ts';
import { blockReason } from '../../web/src/lib/audience.ts';
import { errorInWords, humanError } from '../../web/src/lib/format.ts';

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

Deno.test('templates: unknown variables are found where they are, known ones render', () => {
  const body = 'Hi {first_name}, see you at {time} {oops}';
  const uses = variablesIn(body);
  assert.deepEqual(uses.map((u) => [u.name, u.known]), [
    ['first_name', true],
    ['time', true],
    ['oops', false],
  ]);
  assert.equal(body.slice(uses[2].start, uses[2].end), '{oops}');
  assert.equal(
    renderTemplate(body, { first_name: 'Maria', time: '3pm' }),
    'Hi Maria, see you at 3pm {oops}',
  );
});

Deno.test('sms: segments switch from GSM-7 to UCS-2 and split long texts', () => {
  assert.deepEqual(smsInfo(''), { segments: 0, encoding: 'GSM-7', chars: 0 });
  assert.equal(smsInfo('a'.repeat(160)).segments, 1);
  assert.equal(smsInfo('a'.repeat(161)).segments, 2);
  const emoji = smsInfo('Hello 👋');
  assert.equal(emoji.encoding, 'UCS-2');
  assert.equal(smsInfo('👋'.repeat(40)).segments, 2);
});

Deno.test('campaign preview: skip reasons in the same order as the database', () => {
  const c = {
    phone: '+14155550100',
    email: null,
    whatsapp: null,
    opted_out_at: null,
    opted_out_channels: [] as string[],
    promotional_consent: true,
  };
  assert.equal(blockReason(c, 'sms'), null);
  assert.equal(blockReason(c, 'whatsapp'), null, 'WhatsApp falls back to the phone');
  assert.equal(blockReason(c, 'email'), 'no_address');
  assert.equal(
    blockReason({ ...c, promotional_consent: false, phone: null }, 'sms'),
    'no_promotional_consent',
  );
  assert.equal(
    blockReason({ ...c, opted_out_channels: ['sms'], promotional_consent: false }, 'sms'),
    'opted_out',
  );
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
