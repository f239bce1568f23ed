import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import type { ApiSettings } from '../src/config/api';
import type { TemporalSettings } from '../src/config/temporal';
import { ApiKeyGuard } from './auth/api-key.guard';
import { TemporalExceptionFilter } from './errors/temporal-exception.filter';
import { HealthController } from './health/health.controller';
import { PipelinesController } from './pipelines/pipelines.controller';
import { PipelinesService } from './pipelines/pipelines.service';
import { TemporalModule } from './temporal/temporal.module';
import { API_SETTINGS } from './tokens';
import { BatchController } from './workflows/batch.controller';
import { RunAdminService } from './workflows/run-admin.service';
import { WorkflowsController } from './workflows/workflows.controller';
import { WorkflowsService } from './workflows/workflows.service';

export interface ChorusApiSettings {
  api: ApiSettings;
  temporal: TemporalSettings;
}

@Module({})
export class AppModule {
  static forRoot({ api, temporal }: ChorusApiSettings): DynamicModule {
    return {
      module: AppModule,
      imports: [TemporalModule.forRoot(temporal)],
      controllers: [HealthController, PipelinesController, WorkflowsController, BatchController],
      providers: [
        { provide: API_SETTINGS, useValue: api },
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_FILTER, useClass: TemporalExceptionFilter },
        PipelinesService,
        WorkflowsService,
        RunAdminService,
      ],
    };
  }
}
