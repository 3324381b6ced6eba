import { randomUUID } from 'node:crypto';
import type { DualWriteDb } from './types.js';

/** The request fields the middleware reads (Express, Fastify and Node's IncomingMessage all have them). */
export interface MiddlewareRequest {
  db?: unknown;
  id?: unknown;
  method?: string | undefined;
  url?: string | undefined;
  originalUrl?: string | undefined;
  headers?: Record<string, string | string[] | undefined>;
}

export interface MiddlewareOptions {
  /** Header carrying an incoming request id. @default 'x-request-id' */
  requestIdHeader?: string;
}

/**
 * Express/Fastify-style middleware: `req.db = db.withContext({ requestId, method, url })`, so shadow
 * reports name the request that read a mismatching row. The request id is the framework's, else the
 * request-id header, else a new UUID.
 */
export function dualwriteMiddleware(
  db: DualWriteDb,
  options: MiddlewareOptions = {},
): (req: MiddlewareRequest, res: unknown, next: (err?: unknown) => void) => void {
  const header = (options.requestIdHeader ?? 'x-request-id').toLowerCase();
  return (req, _res, next) => {
    try {
      const fromHeader = req.headers?.[header];
      const requestId =
        typeof req.id === 'string' || typeof req.id === 'number'
          ? String(req.id)
          : ((Array.isArray(fromHeader) ? fromHeader[0] : fromHeader) ?? randomUUID());
      req.db = db.withContext({
        requestId,
        method: req.method ?? null,
        url: req.originalUrl ?? req.url ?? null,
      });
      next();
    } catch (error) {
      next(error);
    }
  };
}
