import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from '../config/load-config.js';
import { migrationDataSourceOptions } from './data-source-options.js';

/** For the TypeORM CLI (`npm run migration:*`). */
export default new DataSource(migrationDataSourceOptions(loadConfig()));
