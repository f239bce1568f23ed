import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { Client, Connection } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import type { EncryptionSettings } from '../../src/config/encryption';
import { temporalConnectionOptions, type TemporalSettings } from '../../src/config/temporal';
import { chorusDataConverter } from '../../src/codec/encryption-codec';
import { TEMPORAL_CLIENT, TEMPORAL_SETTINGS } from '../tokens';

/** The API's only door to Temporal. The connection is lazy so the API boots (and /readyz reports) while Temporal is down. */
@Module({})
export class TemporalModule implements OnApplicationShutdown {
  constructor(@Inject(TEMPORAL_CLIENT) private readonly client: Client) {}

  static forRoot(settings: TemporalSettings, encryption?: EncryptionSettings): DynamicModule {
    return {
      module: TemporalModule,
      global: true,
      providers: [
        { provide: TEMPORAL_SETTINGS, useValue: settings },
        {
          provide: TEMPORAL_CLIENT,
          useFactory: () =>
            new Client({
              connection: Connection.lazy(temporalConnectionOptions(settings)),
              namespace: settings.namespace,
              dataConverter: chorusDataConverter(encryption),
              // Carries the request's trace into the workflow (a no-op while tracing is off).
              interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
            }),
        },
      ],
      exports: [TEMPORAL_CLIENT, TEMPORAL_SETTINGS],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.connection.close();
  }
}
