// Developer tooling that writes committed files: the schema map's regrouping (dev/tasks/schema_map.ts)
// and dev/bench/RESULTS.md's one-section-per-benchmark replacement (dev/bench/_results.ts). Pure functions,
// no stack needed.
import assert from 'node:assert/strict';
import { arrange, parseDump } from '../../tasks/schema_map.ts';
import { parseSections, replaceSection } from '../../bench/_results.ts';

const entry = (name: string, type: string, schema: string, body: string) =>
  `--\n-- Name: ${name}; Type: ${type}; Schema: ${schema}; Owner: -\n--\n\n${body}\n\n\n`;

Deno.test('schema map: each table gathers its own entries and the functions that belong to it', () => {
  const dump = '\\restrict abc\n\nSET x = 1;\n\n' +
    entry('touch()', 'FUNCTION', 'private', 'CREATE FUNCTION private.touch() ...;') +
    entry('loose()', 'FUNCTION', 'private', 'CREATE FUNCTION private.loose() ...;') +
    entry(
      'FUNCTION touch()',
      'ACL',
      'private',
      'REVOKE ALL ON FUNCTION private.touch() FROM PUBLIC;',
    ) +
    entry('notes', 'TABLE', 'public', 'CREATE TABLE public.notes (id uuid);') +
    entry(
      'notes_at_idx',
      'INDEX',
      'public',
      'CREATE INDEX notes_at_idx ON public.notes USING btree (id);',
    ) +
    entry('notes notes_touch', 'TRIGGER', 'public', 'CREATE TRIGGER notes_touch ...;') +
    entry(
      'notes Members read',
      'POLICY',
      'public',
      'CREATE POLICY "Members read" ON public.notes;',
    ) +
    entry('TABLE notes', 'COMMENT', 'public', "COMMENT ON TABLE public.notes IS 'n';") +
    entry(
      'DEFAULT PRIVILEGES FOR TABLES',
      'DEFAULT ACL',
      'public',
      'ALTER DEFAULT PRIVILEGES ...;',
    ) +
    '--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abc\n';
  const entries = parseDump(dump);
  assert.equal(entries.length, 9);
  const text = arrange(entries, new Map([['private.touch()', 'public.notes']])).join('\n\n');
  const at = (s: string) => text.indexOf(s);
  assert.ok(!text.includes('restrict') && !text.includes('DEFAULT PRIVILEGES'), 'noise dropped');
  assert.ok(at('-- Table public.notes') < at('CREATE TABLE public.notes'));
  // Within the table: definition, comment, index, policy, trigger; then its trigger function.
  const order = [
    'CREATE TABLE public.notes',
    'COMMENT ON TABLE public.notes',
    'CREATE INDEX notes_at_idx',
    'CREATE POLICY "Members read"',
    'CREATE TRIGGER notes_touch',
    'CREATE FUNCTION private.touch()',
    'REVOKE ALL ON FUNCTION private.touch()',
    'that span several tables',
    'CREATE FUNCTION private.loose()',
  ];
  for (let i = 1; i < order.length; i++) {
    assert.ok(
      at(order[i - 1]) >= 0 && at(order[i - 1]) < at(order[i]),
      `${order[i - 1]} before ${order[i]}`,
    );
  }
});

Deno.test('bench results: a run replaces its own section, keeps the others, fixed order', () => {
  let file = replaceSection('', 'db', '## db — 1\n\nold db');
  file = replaceSection(file, 'dispatch', '## Dispatch — 1\n\nfirst');
  file = replaceSection(file, 'dispatch', '## Dispatch — 2\n\nsecond');
  const sections = parseSections(file);
  assert.deepEqual([...sections.keys()], ['dispatch', 'db'], 'dispatch sorts before db');
  assert.equal(sections.get('dispatch'), '## Dispatch — 2\n\nsecond');
  assert.equal(sections.get('db'), '## db — 1\n\nold db');
  assert.equal(file.match(/## Dispatch/g)?.length, 1, 'the earlier run is gone');
  assert.ok(file.startsWith('# Benchmark results\n'));
});
