// Template variables: the set the database accepts (private.template_variable_names() in
// migrations/…_templates.sql; the server re-validates on save) and a client-side render for live previews.

export const TEMPLATE_VARIABLES = [
  'first_name',
  'business_name',
  'service',
  'date',
  'time',
  'order_number',
  'tracking_number',
  'tracking_url',
  'retry_url',
] as const;

export const SAMPLE_VALUES: Record<string, string> = {
  first_name: 'Maria',
  business_name: 'Your business',
  service: 'Haircut',
  date: 'Tue 14 May',
  time: '3:30 PM',
  order_number: '1042',
  tracking_number: '1Z999AA10123456784',
  tracking_url: 'https://track.example.com/1Z999',
  retry_url: 'https://pay.example.com/1042',
};

const VAR_RE = /\{([a-zA-Z_][a-zA-Z0-9_]*)\}/g;

export interface VariableUse {
  name: string;
  start: number;
  end: number;
  known: boolean;
}

export function variablesIn(body: string, known: readonly string[] = TEMPLATE_VARIABLES) {
  const out: VariableUse[] = [];
  for (const m of body.matchAll(VAR_RE)) {
    out.push({
      name: m[1],
      start: m.index!,
      end: m.index! + m[0].length,
      known: known.includes(m[1]),
    });
  }
  return out;
}

export function renderTemplate(body: string, values: Record<string, string>): string {
  return body.replace(VAR_RE, (all, name: string) => values[name] ?? all);
}

/** Values for a contact, used when a template is inserted into a reply. */
export function contactValues(
  c: { name?: string | null; phone?: string | null; email?: string | null } | null,
  businessName: string,
): Record<string, string> {
  const name = c?.name?.trim() ?? '';
  const first = name.split(/\s+/)[0] ?? '';
  return { first_name: first || 'there', business_name: businessName };
}
