/** A Postgres identifier (schema, table, column) quoted for interpolation into SQL. */
export const quoteIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/** A parameterised statement. */
export interface Statement {
  text: string;
  values: unknown[];
}

/**
 * Several writes as one statement (one round trip): each a data-modifying CTE without RETURNING, their
 * parameters renumbered. They run on one snapshot and none sees another's rows, so they must write disjoint
 * rows. Undefined when there is nothing to write.
 */
export function oneStatement(writes: readonly Statement[]): Statement | undefined {
  if (writes.length <= 1) return writes[0];
  const values: unknown[] = [];
  const ctes = writes.map((w, i) => {
    const shift = values.length;
    values.push(...w.values);
    return `w${i} as (${w.text.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + shift}`)})`;
  });
  return { text: `with ${ctes.join(',\n')}\nselect 1`, values };
}
