import { Body, Controller, HttpCode, HttpStatus, Inject, Post, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
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
@ApiTags('codec')
@Public()
@UseGuards(CodecAccessGuard)
@Controller('codec')
export class CodecController {
  constructor(@Inject(CODEC) private readonly codec: PayloadCodec) {}

  @Post('encode')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Encrypt payloads (Temporal remote codec protocol); needs workflows:admin' })
  async encode(@Body() body: CodecBody) {
    return { payloads: (await this.codec.encode((body.payloads ?? []).map(fromJson))).map(toJson) };
  }

  @Post('decode')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Decrypt payloads (Temporal remote codec protocol); needs workflows:admin' })
  async decode(@Body() body: CodecBody) {
    return { payloads: (await this.codec.decode((body.payloads ?? []).map(fromJson))).map(toJson) };
  }
}
