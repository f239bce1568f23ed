import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Client } from '@temporalio/client';
import { Public } from '../auth/public.decorator';
import { TEMPORAL_CLIENT } from '../tokens';

const READINESS_DEADLINE_MS = 2000;

@ApiTags('health')
@Public()
@Controller()
export class HealthController {
  constructor(@Inject(TEMPORAL_CLIENT) private readonly client: Client) {}

  @Get('healthz')
  @ApiOperation({ summary: 'Liveness: the API process is up' })
  live() {
    return { status: 'ok' };
  }

  @Get('readyz')
  @ApiOperation({ summary: 'Readiness: Temporal is reachable' })
  async ready() {
    try {
      await this.client.withDeadline(Date.now() + READINESS_DEADLINE_MS, () => this.client.workflowService.getSystemInfo({}));
      return { status: 'ready', temporal: 'reachable' };
    } catch (error) {
      throw new ServiceUnavailableException({ status: 'unavailable', temporal: (error as Error).message });
    }
  }
}
