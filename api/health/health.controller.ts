import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Client } from '@temporalio/client';
import { Public } from '../auth/public.decorator';
import { Operation } from '../openapi/operation';
import { TEMPORAL_CLIENT } from '../tokens';

const READINESS_DEADLINE_MS = 2000;

@ApiTags('health')
@Public()
@Controller()
export class HealthController {
  constructor(@Inject(TEMPORAL_CLIENT) private readonly client: Client) {}

  @Get('healthz')
  @Operation({ id: 'checkLiveness', summary: 'Liveness: the API process is up', public: true, answers: { 200: { description: 'Up.', schema: 'Health' } } })
  live() {
    return { status: 'ok' };
  }

  @Get('readyz')
  @Operation({
    id: 'checkReadiness',
    summary: 'Readiness: Temporal is reachable',
    public: true,
    answers: { 200: { description: 'Temporal answered.', schema: 'Readiness' } },
    problems: [503],
  })
  async ready() {
    try {
      await this.client.withDeadline(Date.now() + READINESS_DEADLINE_MS, () => this.client.workflowService.getSystemInfo({}));
      return { status: 'ready', temporal: 'reachable' };
    } catch (error) {
      throw new ServiceUnavailableException(`Temporal is unreachable: ${(error as Error).message}`);
    }
  }
}
