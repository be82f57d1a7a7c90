import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { METRICS_CONTENT_TYPE, MetricsExporter } from './metrics-exporter.service.js';
import { AnyQuery } from '../common/http/known-query.guard.js';

@ApiTags('operations')
@AnyQuery()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly exporter: MetricsExporter) {}

  @Get()
  @Header('content-type', METRICS_CONTENT_TYPE)
  @ApiProduces('text/plain')
  @ApiOperation({ summary: 'Prometheus metrics (text format)' })
  scrape(): Promise<string> {
    return this.exporter.scrape();
  }
}
