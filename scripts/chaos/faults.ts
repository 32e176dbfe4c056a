export type Fault = 'kill -9 processor' | 'restart kafka' | 'restart postgres' | 'restart ferretdb' | 'poison record';

/**
 * The order faults are injected in: every kind early (so a short run still has each), then
 * mostly processor kills and poison records. Pure, so a run is reproducible from its seed.
 */
export function faultPlan(count: number): Fault[] {
  const must: Fault[] = [
    'kill -9 processor',
    'poison record',
    'restart kafka',
    'kill -9 processor',
    'restart postgres',
    'poison record',
    'restart ferretdb',
    'kill -9 processor',
  ];
  const rest: Fault[] = ['kill -9 processor', 'poison record', 'kill -9 processor'];
  return Array.from({ length: Math.max(count, must.length) }, (_, i) => must[i] ?? rest[i % rest.length]!);
}
