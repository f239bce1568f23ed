import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { ApiSettings } from '../src/config/api';
import type { EncryptionSettings } from '../src/config/encryption';
import type { TemporalSettings } from '../src/config/temporal';
import type { Logger } from 'pino';
import { EncryptionCodec } from '../src/codec/encryption-codec';
import { AuthGuard } from './auth/auth.guard';
import { ChatController } from './chat/chat.controller';
import { ChatService } from './chat/chat.service';
import { CodecAccessGuard } from './codec/codec-access.guard';
import { CodecController } from './codec/codec.controller';
import { HealthController } from './health/health.controller';
import { ApiMetrics } from './observability/api-metrics';
import { ObservabilityModule } from './observability/observability.module';
import { PipelinesController } from './pipelines/pipelines.controller';
import { PipelinesService } from './pipelines/pipelines.service';
import { RateLimitGuard } from './rate-limit/rate-limit.guard';
import { SchedulesController } from './schedules/schedules.controller';
import { SchedulesService } from './schedules/schedules.service';
import { UsageController } from './usage/usage.controller';
import { UsageService } from './usage/usage.service';
import { PageTokens } from './temporal/listing';
import { RunStarter } from './temporal/run-starter';
import { TemporalModule } from './temporal/temporal.module';
import { API_SETTINGS, CODEC } from './tokens';
import { BatchController } from './workflows/batch.controller';
import { LiveRunReader } from './workflows/live-run-reader';
import { RunAdminService } from './workflows/run-admin.service';
import { RunEventsService } from './workflows/run-events.service';
import { TokenEvents } from './streaming/token-events';
import type { TokenStream } from '../src/streaming/token-stream';
import { WorkflowsController } from './workflows/workflows.controller';
import { RunCloseWaits } from './workflows/run-close-waits';
import { RunReadService } from './workflows/run-read.service';
import { RunStartService } from './workflows/run-start.service';

export interface ChorusApiSettings {
  api: ApiSettings;
  temporal: TemporalSettings;
  /** Payload encryption; also mounts the /codec endpoint. */
  encryption?: EncryptionSettings;
  /** Request logs and Nest's own messages; silent when absent (tests). */
  logger?: Logger;
  /** Where token events come from. @default Redis Streams at CHORUS_REDIS_URL when set, else none */
  tokenStream?: TokenStream;
}

@Module({})
export class AppModule {
  static forRoot({ api, temporal, encryption, logger, tokenStream }: ChorusApiSettings): DynamicModule {
    const pipelines = new PipelinesService(api);
    const metrics = new ApiMetrics();
    const codec: Provider[] = encryption ? [{ provide: CODEC, useValue: new EncryptionCodec(encryption) }, CodecAccessGuard] : [];
    return {
      module: AppModule,
      imports: [TemporalModule.forRoot(temporal, encryption), ObservabilityModule.forRoot(metrics, logger)],
      controllers: [
        HealthController,
        PipelinesController,
        WorkflowsController,
        BatchController,
        SchedulesController,
        ChatController,
        UsageController,
        ...(encryption ? [CodecController] : []),
      ],
      providers: [
        { provide: API_SETTINGS, useValue: api },
        AuthGuard,
        // Guards run in this order: who is calling, then how often.
        { provide: APP_GUARD, useExisting: AuthGuard },
        { provide: APP_GUARD, useClass: RateLimitGuard },
        ...codec,
        { provide: PipelinesService, useValue: pipelines },
        { provide: PageTokens, useValue: PageTokens.fromSecrets(api.auth, encryption ?? null) },
        RunStarter,
        RunStartService,
        RunReadService,
        RunCloseWaits,
        LiveRunReader,
        RunAdminService,
        RunEventsService,
        { provide: TokenEvents, useValue: TokenEvents.create(tokenStream, api.rateLimit.redisUrl) },
        SchedulesService,
        ChatService,
        UsageService,
      ],
    };
  }
}
