import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { DataSource, type EntityManager } from 'typeorm';

/**
 * Runs hand-written SQL on TypeORM's own pool (or a transaction's connection) as named prepared
 * statements: PostgreSQL parses and plans each statement once per connection instead of on every
 * call, which is most of the cost of a one-row statement. Use `dynamic` for text built at run time
 * (a filter list), so it is not kept prepared. Rows come back for every statement kind (TypeORM's
 * `query` returns `[rows, count]` for a bare UPDATE or DELETE).
 */
/** Largest batch still run as a prepared statement (see `batch`). */
const SMALL_BATCH = 8;

@Injectable()
export class Sql {
  private readonly names = new Map<string, string>();

  constructor(private readonly db: DataSource) {}

  async query<T = Record<string, unknown>>(text: string, values: unknown[] = [], tx?: EntityManager): Promise<T[]> {
    return this.run<T>({ name: this.nameOf(text), text, values }, tx);
  }

  /**
   * For statements over a batch of `size` rows passed as arrays: prepared while the batch is small,
   * planned afresh when it is large. A prepared statement's generic plan cannot know how many
   * elements the arrays hold (it assumes 10) and may join the wrong way round, which costs
   * little for a few rows and a lot for hundreds; a fresh plan sees the real array sizes.
   */
  async batch<T = Record<string, unknown>>(size: number, text: string, values: unknown[] = [], tx?: EntityManager): Promise<T[]> {
    return size <= SMALL_BATCH ? this.query<T>(text, values, tx) : this.dynamic<T>(text, values, tx);
  }

  async dynamic<T = Record<string, unknown>>(text: string, values: unknown[] = [], tx?: EntityManager): Promise<T[]> {
    return this.run<T>({ text, values }, tx);
  }

  transaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }

  private async run<T>(config: pg.QueryConfig, tx?: EntityManager): Promise<T[]> {
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
}
