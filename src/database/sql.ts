import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { DataSource, type EntityManager } from 'typeorm';

/**
 * Runs hand-written SQL on TypeORM's own pool (or a transaction's connection) as named prepared
 * statements: PostgreSQL parses and plans each statement once per connection instead of on every
 * call, which is most of the cost of a one-row statement. This holds for the batch statements too (arrays of
 * ids through `unnest`/`ANY`): their generic plan assumes 10 elements and probes the primary key per
 * element, which is the right plan for 500 as well, and planning afresh per call cost PostgreSQL more
 * than executing (measured with pg_stat_statements under POST /jobs load: 2.6 s of planning against
 * 5.9 s of execution for 20,000 jobs; PostgreSQL CPU 418 -> 238 us a job once prepared). A cached
 * plan is rebuilt when ANALYZE changes the table's statistics; TableStatistics sees that a young table
 * gets some before a generic plan from its empty days does harm. Use `dynamic` for text built at run time
 * (a filter list), so it is not kept prepared. Rows come back for every statement kind (TypeORM's
 * `query` returns `[rows, count]` for a bare UPDATE or DELETE).
 */
/** Something hand-written SQL can be sent through: Sql (the pool), or a connection of its own. */
export interface Queryable {
  query<T = Record<string, unknown>>(text: string, values: unknown[]): Promise<T[]>;
}

@Injectable()
export class Sql implements Queryable {
  private readonly names = new Map<string, string>();
  /** How many times a statement's text was given a new name (see run). */
  private readonly generations = new Map<string, number>();

  constructor(private readonly db: DataSource) {}

  async query<T = Record<string, unknown>>(text: string, values: unknown[] = [], tx?: EntityManager): Promise<T[]> {
    return this.run<T>({ name: this.nameOf(text), text, values }, tx);
  }

  async dynamic<T = Record<string, unknown>>(text: string, values: unknown[] = [], tx?: EntityManager): Promise<T[]> {
    return this.run<T>({ text, values }, tx);
  }

  transaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }

  private async run<T>(config: pg.QueryConfig, tx?: EntityManager): Promise<T[]> {
    try {
      return await this.send<T>(config, tx);
    } catch (error) {
      if (!config.name || !isStalePreparedResult(error)) throw error;
      // The table's columns changed under a statement prepared with `*` (a migration of a newer release
      // adding a column while this process runs): PostgreSQL refuses that statement on every connection
      // that prepared it. From now on the statement goes under a new name, prepared afresh where it runs.
      // Outside a transaction it is sent again at once; inside one, the transaction is aborted, and the
      // caller's retry (retryLostRaces: the error is transient) runs it again under the new name.
      this.renamed(config.text);
      if (tx) throw error;
      return this.send<T>({ ...config, name: this.nameOf(config.text) });
    }
  }

  private async send<T>(config: pg.QueryConfig, tx?: EntityManager): Promise<T[]> {
    const runner = tx?.queryRunner;
    if (runner) {
      const client = (await runner.connect()) as pg.PoolClient;
      return (await client.query(config)).rows as T[];
    }
    const pool = (this.db.driver as unknown as { master: pg.Pool }).master;
    return (await pool.query(config)).rows as T[];
  }

  private nameOf(text: string): string {
    let name = this.names.get(text);
    if (!name) {
      name = `s_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
      this.names.set(text, name);
    }
    return name;
  }

  /** Gives `text` a name not used before (its earlier preparations stay behind, unused). */
  private renamed(text: string): void {
    const generation = (this.generations.get(text) ?? 0) + 1;
    this.generations.set(text, generation);
    this.names.set(text, `s_${createHash('sha1').update(text).digest('hex').slice(0, 20)}_${generation}`);
  }
}

/** PostgreSQL's 0A000 "cached plan must not change result type": a prepared statement whose `*` now means other columns. Pure. */
export function isStalePreparedResult(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  return e?.code === '0A000' && typeof e.message === 'string' && e.message.includes('cached plan must not change result type');
}
