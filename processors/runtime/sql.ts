/** A Postgres identifier (schema, table, column) quoted for interpolation into SQL. */
export const quoteIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`;
