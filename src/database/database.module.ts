import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config.js';
import { DatabaseClockSampler } from './database-clock.sampler.js';
import { dataSourceOptions } from './data-source-options.js';
import { Sql } from './sql.js';
import { TableStatistics } from './table-statistics.js';
import { installTimestampParser } from './timestamps.js';

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => {
        installTimestampParser();
        return { ...dataSourceOptions(config), migrationsRun: false };
      },
    }),
  ],
  providers: [Sql, TableStatistics, DatabaseClockSampler],
  exports: [Sql, TableStatistics],
})
export class DatabaseModule {}
