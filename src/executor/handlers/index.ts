import { DataExportHandler } from './data-export.handler.js';
import { DataFetchHandler } from './data-fetch.handler.js';
import { DataProcessingHandler } from './data-processing.handler.js';
import { NoopHandler } from './noop.handler.js';
import { ReportGenerationHandler } from './report-generation.handler.js';
import { SendEmailHandler } from './send-email.handler.js';

/** The built-in job types (DESIGN §5). A new type is one file in this folder plus one line here. */
export const BUILT_IN_HANDLERS = [
  NoopHandler,
  DataFetchHandler,
  DataProcessingHandler,
  DataExportHandler,
  ReportGenerationHandler,
  SendEmailHandler,
];
