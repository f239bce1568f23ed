import { Body, Controller, Get, Headers, HttpStatus, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentPrincipal, type Principal } from '../auth/principal';
import { WORKFLOW_ID_PATTERN } from '../../src/contract/api';
import { Operation, PathId } from '../openapi/operation';
import { checkedIdempotencyKey, IdempotencyKeyHeader, WorkflowId } from '../validation';
import { parseChatRequest } from './chat-request';
import { ChatService, WORKFLOW_ID_HEADER } from './chat.service';

const WORKFLOW_ID_HEADER_DOC = {
  [WORKFLOW_ID_HEADER]: { description: 'The run that answers: GET /v1/workflows/{id} reads it, also after the client left', schema: { type: 'string' } },
};

/** The OpenAI wire in front of Chorus: what every OpenAI client, SDK and tool can call. */
@ApiTags('openai')
@ApiSecurity('api-key')
@ApiBearerAuth('bearer')
@Controller('v1')
export class ChatController {
  constructor(private readonly chat: ChatService) {}

  @Post('chat/completions')
  @ApiBody({ required: true, schema: { $ref: '#/components/schemas/ChatCompletionRequest' } })
  @IdempotencyKeyHeader()
  @Operation({
    id: 'createChatCompletion',
    summary: 'OpenAI chat completion, answered by a durable Chorus run (a provider model, or a named pipeline as pipeline/<name>)',
    description:
      'Errors are OpenAI error bodies. With `stream: true` the answer is `chat.completion.chunk` server-sent events ending with `data: [DONE]`, ' +
      'or an error event (`data: {"error": …}`) in its place.',
    scope: 'workflows:start',
    errorBody: 'openai',
    answers: {
      200: {
        description: 'The run completed: its answer. With stream: true, its tokens as they are written.',
        schema: 'ChatCompletion',
        headers: WORKFLOW_ID_HEADER_DOC,
        alternatives: [
          {
            mediaType: 'text/event-stream',
            inlineSchema: { type: 'object', properties: { data: { type: 'string' } }, required: ['data'] },
            example:
              'data: {"id":"chat-0b9c4f5e","object":"chat.completion.chunk","created":1764640000,"model":"openai/gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null,"logprobs":null}]}\n\n',
          },
        ],
      },
    },
    problems: [400, 404, 409, 413, 502, 503, 504],
  })
  async createChatCompletion(
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res() response: Response,
  ): Promise<void> {
    const request = parseChatRequest(body);
    const { started, pipeline } = await this.chat.start(request, principal, checkedIdempotencyKey(idempotencyKey));
    // The run goes on when the client leaves; only the waiting for it stops.
    const gone = new AbortController();
    response.on('close', () => gone.abort());
    if (request.stream) return this.chat.stream(started, pipeline, request, principal, gone.signal, response);
    const completion = await this.chat.complete(started.workflowId, principal, gone.signal);
    response.status(HttpStatus.OK).setHeader(WORKFLOW_ID_HEADER, started.workflowId).json(completion);
  }

  @Get('chat/completions/:id')
  @PathId('id', WORKFLOW_ID_PATTERN, 'The completion ID: the workflow ID of its run (x-chorus-workflow-id)', 'chat-0b9c4f5e-8d1a-4c47-9f2e-6f1f3c7a2b10')
  @Operation({
    id: 'getChatCompletion',
    summary: 'A chat completion by its ID (its run’s workflow ID), e.g. after the client left: waits for the run to close, as the POST does',
    scope: 'workflows:read',
    errorBody: 'openai',
    answers: { 200: { description: 'The run completed: its answer.', schema: 'ChatCompletion', headers: WORKFLOW_ID_HEADER_DOC } },
    problems: [400, 404, 409, 502, 503, 504],
  })
  async getChatCompletion(@WorkflowId() workflowId: string, @CurrentPrincipal() principal: Principal, @Res() response: Response): Promise<void> {
    const gone = new AbortController();
    response.on('close', () => gone.abort());
    const completion = await this.chat.complete(workflowId, principal, gone.signal);
    response.status(HttpStatus.OK).setHeader(WORKFLOW_ID_HEADER, workflowId).json(completion);
  }

  @Get('models')
  @Operation({
    id: 'listModels',
    summary: 'What POST /v1/chat/completions can call, in OpenAI’s model list: provider models and named pipelines',
    scope: 'workflows:read',
    errorBody: 'openai',
    answers: { 200: { description: 'Every model.', schema: 'ModelList' } },
  })
  listModels() {
    return this.chat.models();
  }
}
