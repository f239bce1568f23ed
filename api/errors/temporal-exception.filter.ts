import { status } from '@grpc/grpc-js';
import { Catch, HttpStatus, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { isGrpcServiceError, ServiceError, WorkflowNotFoundError } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Response } from 'express';

// gRPC status codes Temporal answers with, mapped to what an HTTP client should see.
const GRPC_TO_HTTP: Partial<Record<status, { status: number; error: string }>> = {
  [status.DEADLINE_EXCEEDED]: { status: HttpStatus.SERVICE_UNAVAILABLE, error: 'Temporal did not answer in time' },
  [status.NOT_FOUND]: { status: HttpStatus.NOT_FOUND, error: 'Not Found' },
  [status.ALREADY_EXISTS]: { status: HttpStatus.CONFLICT, error: 'Conflict' },
  [status.FAILED_PRECONDITION]: { status: HttpStatus.CONFLICT, error: 'Conflict' },
  [status.UNAVAILABLE]: { status: HttpStatus.SERVICE_UNAVAILABLE, error: 'Temporal is unavailable' },
};

/** The gRPC status code of a Temporal client error, however the SDK wrapped it. */
export function grpcCode(error: unknown): number | undefined {
  if (isGrpcServiceError(error)) return error.code;
  if (error instanceof ServiceError && isGrpcServiceError(error.cause)) return error.cause.code;
  return undefined;
}

/** Maps Temporal errors to HTTP at the edge, in one place. */
@Catch(WorkflowNotFoundError, WorkflowExecutionAlreadyStartedError, ServiceError)
export class TemporalExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(TemporalExceptionFilter.name);

  catch(error: Error, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    if (error instanceof WorkflowNotFoundError) {
      response.status(404).json({ statusCode: 404, error: 'Not Found', message: 'No workflow run with this ID' });
      return;
    }
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      response.status(409).json({ statusCode: 409, error: 'Conflict', message: `Workflow ${error.workflowId} is already running` });
      return;
    }
    const code = grpcCode(error);
    const mapped = code === undefined ? undefined : GRPC_TO_HTTP[code as status];
    if (mapped) {
      response.status(mapped.status).json({ statusCode: mapped.status, error: mapped.error, message: error.message });
      return;
    }
    // The client gets no internals; the operator gets the cause (e.g. a search attribute missing on a cluster).
    this.logger.error(`Temporal request failed: ${error.message}`);
    response.status(500).json({ statusCode: 500, error: 'Internal Server Error', message: 'Temporal request failed' });
  }
}
