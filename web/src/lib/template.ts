// Template variables are the database's (public.template_variables, template_check, template_fill
// in migrations/…_template_variables_catalog.sql): the list, which ones a text uses, the preview
// and the fill all come from there. This only cuts a text where the database said its variables
// are, so the editor can draw them.

/** One variable a text uses, as public.template_check returns it. */
export interface VariableUse {
  name: string;
  known: boolean;
}

/** public.template_check's answer. */
export interface TemplateCheck {
  variables: VariableUse[];
  unknown: string[];
  preview: string | null;
}

export type Piece = string | { text: string; known: boolean; at: number };

/** The text cut into plain runs and the `{name}` occurrences of the variables it uses. */
export function markVariables(body: string, uses: VariableUse[]): Piece[] {
  const hits: { at: number; text: string; known: boolean }[] = [];
  for (const u of uses) {
    const token = `{${u.name}}`;
    for (let at = body.indexOf(token); at >= 0; at = body.indexOf(token, at + token.length)) {
      hits.push({ at, text: token, known: u.known });
    }
  }
  hits.sort((a, b) => a.at - b.at);
  const out: Piece[] = [];
  let pos = 0;
  for (const h of hits) {
    if (h.at < pos) continue;
    out.push(body.slice(pos, h.at), h);
    pos = h.at + h.text.length;
  }
  out.push(body.slice(pos));
  return out.filter((p) => p !== '');
}
