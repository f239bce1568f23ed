import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, type Principal } from '../auth/principal';
import { Operation } from '../openapi/operation';
import { UsageQuery } from './dto/usage-query.dto';
import { UsageService } from './usage.service';

@ApiTags('usage')
@ApiSecurity('api-key')
@ApiBearerAuth('bearer')
@Controller('v1/usage')
export class UsageController {
  constructor(private readonly usage: UsageService) {}

  @Get()
  @Operation({
    id: 'getUsage',
    summary: "The caller tenant's provider spend over a period of UTC days, by day, pipeline, provider and model, with its caps",
    description:
      'Read from the ledger the tenant caps are held in (Redis, CHORUS_REDIS_URL): every provider call of the tenant, as its worker counted it when it answered. A 503 when this deployment keeps no ledger or it does not answer.',
    scope: 'workflows:read',
    answers: { 200: { description: "The tenant's spend.", schema: 'Usage' } },
    problems: [400, 503],
  })
  get(@Query() query: UsageQuery, @CurrentPrincipal() principal: Principal) {
    return this.usage.usage(principal.tenant, query);
  }
}
