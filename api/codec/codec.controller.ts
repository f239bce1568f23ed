import { Body, Controller, HttpCode, HttpStatus, Inject, Post, UseGuards } from '@nestjs/common';
import { badRequest } from '../errors/bad-request';
import { ApiExcludeController, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { Public } from '../auth/public.decorator';
import { CODEC } from '../tokens';
import { CodecAccessGuard } from './codec-access.guard';

/** Temporal's remote codec JSON: metadata values and data are base64. */
interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}
interface CodecBody {
  payloads?: JsonPayload[];
}

const MAX_PAYLOADS = 1000;
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The request's payloads, or a 400 naming the first malformed one. */
function payloadsOf(body: unknown): Payload[] {
  const payloads = isRecord(body) ? body.payloads : undefined;
  if (!Array.isArray(payloads) || payloads.length > MAX_PAYLOADS)
    throw badRequest([{ field: 'payloads', reason: `must be a list of at most ${MAX_PAYLOADS} payloads` }]);
  return payloads.map((payload, index) => {
    const valid =
      isRecord(payload) &&
      (payload.data === undefined || typeof payload.data === 'string') &&
      (payload.metadata === undefined || (isRecord(payload.metadata) && Object.values(payload.metadata).every((value) => typeof value === 'string')));
    if (!valid) throw badRequest([{ field: `payloads[${index}]`, reason: 'must be {metadata: {key: base64}, data: base64}' }]);
    return fromJson(payload as JsonPayload);
  });
}

/** Runs the codec; a payload it cannot process (wrong key, tampered, not a payload) is the caller's 400. */
async function apply(operation: (payloads: Payload[]) => Promise<Payload[]>, body: unknown) {
  const payloads = payloadsOf(body);
  try {
    return { payloads: (await operation(payloads)).map(toJson) };
  } catch (error) {
    throw badRequest([{ field: 'payloads', reason: `cannot be processed: ${(error as Error).message}` }]);
  }
}

const fromJson = ({ metadata = {}, data = '' }: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(metadata).map(([key, value]) => [key, Buffer.from(String(value), 'base64')])),
  data: Buffer.from(String(data), 'base64'),
});
const toJson = ({ metadata, data }: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([key, value]) => [key, Buffer.from(value).toString('base64')])),
  data: Buffer.from(data ?? new Uint8Array()).toString('base64'),
});

/**
 * The codec endpoint the Temporal Web UI (and `temporal --codec-endpoint`) calls to show decrypted
 * payloads to operators. Only mounted when payload encryption is on.
 */
// Temporal's remote codec protocol for operators, mounted only with encryption: not part of Chorus's own contract.
@ApiExcludeController()
@ApiTags('codec')
@Public()
@UseGuards(CodecAccessGuard)
@Controller('codec')
export class CodecController {
  constructor(@Inject(CODEC) private readonly codec: PayloadCodec) {}

  @Post('encode')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Encrypt payloads (Temporal remote codec protocol); needs workflows:admin' })
  encode(@Body() body: CodecBody) {
    return apply((payloads) => this.codec.encode(payloads), body);
  }

  @Post('decode')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Decrypt payloads (Temporal remote codec protocol); needs workflows:admin' })
  decode(@Body() body: CodecBody) {
    return apply((payloads) => this.codec.decode(payloads), body);
  }
}
