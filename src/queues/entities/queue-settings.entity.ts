import { Check, Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A queue's settings (DESIGN §12): one row per job type that has any; a type without a row has no
 * rule. Checks are written in the migration; declared here so that `migration:generate` agrees.
 */
@Entity({ name: 'queues' })
@Check('queues_concurrency_limit_check', '(concurrency_limit >= 1)')
@Check('queues_key_concurrency_limit_check', '(key_concurrency_limit >= 1)')
@Check('queues_rate_limit_check', '((rate_limit >= 1) AND (rate_interval_ms >= 100))')
@Check('queues_rate_limit_pair_check', '((rate_limit IS NULL) = (rate_interval_ms IS NULL))')
export class QueueSettingsRow {
  @PrimaryColumn({ type: 'varchar', length: 100, name: 'type' })
  type!: string;

  @Column({ type: 'boolean', name: 'paused', default: false })
  paused!: boolean;

  @Column({ type: 'integer', name: 'concurrency_limit', nullable: true })
  concurrencyLimit!: number | null;

  @Column({ type: 'integer', name: 'key_concurrency_limit', nullable: true })
  keyConcurrencyLimit!: number | null;

  @Column({ type: 'integer', name: 'rate_limit', nullable: true })
  rateLimit!: number | null;

  @Column({ type: 'integer', name: 'rate_interval_ms', nullable: true })
  rateIntervalMs!: number | null;

  @Column({ type: 'timestamptz', precision: 3, name: 'updated_at', default: () => 'now()' })
  updatedAt!: Date;
}
