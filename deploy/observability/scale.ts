/**
 * The rules with every time window divided by `factor` (range selectors `[10m]`, `offset 10m`, `for: 5m`),
 * so a test can watch the real Prometheus take an alert through the same expression in seconds instead of
 * a quarter of an hour. Pure text: the expressions are otherwise the ones deployed.
 */
export function scaleRuleWindows(rules: string, factor: number): string {
  const UNIT: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
  const scaled = (amount: string, unit: string): string => `${Math.max(1, Math.round((Number(amount) * UNIT[unit]!) / factor))}s`;
  return rules
    .replace(/\[(\d+)(ms|s|m|h|d)\]/g, (_, a: string, u: string) => `[${scaled(a, u)}]`)
    .replace(/\boffset (\d+)(ms|s|m|h|d)\b/g, (_, a: string, u: string) => `offset ${scaled(a, u)}`)
    .replace(/^(\s*for: )(\d+)(ms|s|m|h|d)\s*$/gm, (_, lead: string, a: string, u: string) => `${lead}${scaled(a, u)}`);
}
