/**
 * Rows as one array per column, in the order of `keys`: the parameters of an
 * `insert … select * from unnest($1::t1[], $2::t2[], …)` that flushes a chunk's rows in one statement.
 */
export const columns = <T>(rows: readonly T[], keys: ReadonlyArray<keyof T>): unknown[][] => keys.map((k) => rows.map((r) => r[k]));
