// @sec/express: applies a sec Decision in Express 4 and 5. The policy, the request model and
// every rule live in @sec/core; this file only maps the request in and the Decision out.
import { denialBody, engineFromOptions, isPromiseLike, nodeRequestInput } from '@sec/core'
import type { Decision, SecOptions } from '@sec/core'
import type { Request, RequestHandler, Response } from 'express'
import { setDecision } from './request-decision.js'

declare global {
  // Express's own extension point (declaration merging), the same in @types/express 4 and 5.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The sec Decision for this request, set by `sec()` before later handlers run. */
      sec?: Decision
    }
  }
}

export type { Decision, DecisionEvent, RequestContext, SecOptions, Store } from '@sec/core'

/** Options of `sec()`: `{ policy }` (plus store, onDecision, rules) or `{ engine }`, and `context`. */
export type SecExpressOptions = SecOptions<Request>

const JSON_UTF8 = 'application/json; charset=utf-8'

/**
 * Applies a Decision: attaches it, sets its headers and, when denied, answers with plain Node
 * calls (same bytes on Express 4 and 5). Returns true when the request may go on.
 */
function apply(req: Request, res: Response, decision: Decision): boolean {
  setDecision(req, decision)
  const headers = decision.headers
  for (const name in headers) res.setHeader(name, headers[name] as string)
  if (decision.allowed) return true
  res.statusCode = decision.status
  res.setHeader('content-type', JSON_UTF8)
  res.end(JSON.stringify(denialBody(decision)))
  return false
}

/**
 * Express middleware enforcing a sec policy: `app.use(sec({ policy }))`, before your routes.
 * Throws at call time (TypeError, PolicyError) when the options cannot work.
 */
export function sec(options: SecExpressOptions): RequestHandler {
  const engine = engineFromOptions(options, '@sec/express')
  const context = options.context
  return function secMiddleware(req, res, next): void {
    // The raw request-target (req.url is rewritten under a mount path) and the socket peer:
    // nodeRequestInput never reads req.ip, which Express derives from `trust proxy`.
    const input = nodeRequestInput(
      req,
      req.originalUrl,
      context === undefined ? undefined : context(req),
    )
    const result = engine.evaluate(input, req)
    if (!isPromiseLike(result)) {
      // Answered synchronously (memory store, sync rules): no promise hop.
      if (apply(req, res, result)) next()
      return
    }
    result.then(
      (decision) => {
        let allowed: boolean
        try {
          allowed = apply(req, res, decision)
        } catch (error) {
          // e.g. the response was already sent by a timeout middleware while the store was slow.
          next(error)
          return
        }
        if (allowed) next()
      },
      // The engine never rejects; if it ever did, Express's error handling takes over.
      next,
    )
  }
}
