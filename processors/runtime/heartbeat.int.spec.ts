import { expect } from 'chai';
import type pg from 'pg';
import { createPgPool } from '../../lib/clients/pg';
import { createLogger } from '../../lib/logger';
import { eventually, randomName, testConfig } from '../../test/support';
import { HEARTBEAT_TABLE, HeartbeatWriter, type Beating } from './heartbeat';

/** The heartbeat writer against the real PostgreSQL: rows per runner, refreshed, removed on stop, failures only logged. */
describe('HeartbeatWriter (int)', function () {
  this.timeout(60_000);
  const config = testConfig();
  let pool: pg.Pool;
  const group = randomName('it-hb');
  const runners: Beating[] = [
    { group, def: { name: 'users' }, ready: true, circuit: 'closed' },
    { group, def: { name: 'grades' }, ready: false, circuit: 'open' },
  ];
  const rows = async () =>
    (
      await pool.query<{ processor: string; instance: string; ready: boolean; circuit: string; seen_at: Date }>(
        `select processor, instance, ready, circuit, seen_at from ${HEARTBEAT_TABLE} where group_id = $1 order by processor`,
        [group],
      )
    ).rows;

  before(() => {
    pool = createPgPool(config);
  });
  after(async () => {
    await pool.query(`delete from ${HEARTBEAT_TABLE} where group_id = $1`, [group]).catch(() => undefined);
    await pool.end();
  });

  it('upserts one row per runner, refreshes it, and deletes its rows on stop', async () => {
    const w = new HeartbeatWriter(pool, runners, 60_000, createLogger(config, 'it'), 'host-a:1');
    await w.beat();
    const first = await rows();
    expect(first.map((r) => [r.processor, r.instance, r.ready, r.circuit])).to.deep.equal([
      ['grades', 'host-a:1', false, 'open'],
      ['users', 'host-a:1', true, 'closed'],
    ]);
    await w.beat();
    const second = await rows();
    expect(second).to.have.length(2);
    expect(second[0]!.seen_at.getTime()).to.be.greaterThan(first[0]!.seen_at.getTime());
    // Another instance of the same group is left alone by this one's stop.
    const other = new HeartbeatWriter(pool, runners.slice(0, 1), 60_000, createLogger(config, 'it'), 'host-b:2');
    await other.beat();
    w.start();
    await w.stop();
    expect((await rows()).map((r) => r.instance)).to.deep.equal(['host-b:2']);
    await other.stop();
    expect(await rows()).to.deep.equal([]);
  });

  it('logs a failed beat at warn and keeps going (never throws from its timer)', async () => {
    const dead = createPgPool({ ...config, pg: { ...config.pg, url: 'postgres://postgres@127.0.0.1:1/nowhere' } });
    const warnings: string[] = [];
    const logger = createLogger(config, 'it');
    logger.warn = ((message: string) => {
      warnings.push(message);
      return logger;
    }) as typeof logger.warn;
    const w = new HeartbeatWriter(dead, runners, 50, logger, 'host-c:3');
    w.start();
    await eventually(() => Promise.resolve(warnings.length >= 2 ? true : undefined), 'two failed beats logged', 20_000);
    await w.stop();
    await dead.end();
    expect(warnings.length).to.be.at.least(2);
    expect(warnings[0]).to.equal('heartbeat failed');
  });
});
