// @sec/koa: applies a sec Decision in Koa 2 and 3. The policy, the request model and every
// rule live in @sec/core; this file only maps the request in and the Decision out.
import { denialBody, engineFromOptions, isPromiseLike, nodeRequestInput } from '@sec/core'
import type { Decision, SecOptions } from '@sec/core'
import type { Context, DefaultState, Middleware } from 'koa'

export type { Decision, DecisionEvent, RequestContext, SecOptions, Store } from '@sec/core'

/** What `sec()` adds to `ctx.state`. */
export interface SecState {
  /** The sec Decision for this request (also set on a denial, for logging middleware). */
  sec: Decision
}

/** Options of `sec()`: `{ policy }` (plus store, onDecision, rules) or `{ engine }`, and `context`. */
export type SecKoaOptions = SecOptions<Context>

/**
 * Koa middleware enforcing a sec policy: `app.use(sec({ policy }))`, before your routes.
 * Throws at call time (TypeError, PolicyError) when the options cannot work.
 */
export function sec<StateT = DefaultState>(options: SecKoaOptions): Middleware<SecState & StateT> {
  const engine = engineFromOptions(options, '@sec/koa')
  const context = options.context
  // Not an async function: a decision answered synchronously (memory store, sync rules) goes
  // straight on to `next()` without the promise and the microtask an async wrapper costs. As an
  // async function would, it never throws: a throw (from `context`, say) is a rejection.
  return function secMiddleware(ctx, next) {
    try {
      // The raw request-target: ctx.originalUrl is `req.url` as received, kept when a mount or
      // a rewrite later changes ctx.url / ctx.path (and ctx.req.url with them). The socket peer
      // is read from ctx.req.socket, never ctx.ip (which follows app.proxy).
      const input = nodeRequestInput(
        ctx.req,
        ctx.originalUrl,
        context === undefined ? undefined : context(ctx),
      )
      const result = engine.evaluate(input, ctx)
      if (!isPromiseLike(result)) return apply(result, ctx, next)
      return Promise.resolve(result).then((decision) => apply(decision, ctx, next))
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
  }
}

/** Applies a Decision: headers always; the denial's status and body, or on to `next`. */
function apply(decision: Decision, ctx: Context, next: () => Promise<unknown>): Promise<unknown> {
  ctx.state.sec = decision
  ctx.set(decision.headers)
  if (!decision.allowed) {
    ctx.status = decision.status
    ctx.body = denialBody(decision) // Koa sends it as application/json; charset=utf-8
    return Promise.resolve()
  }
  return next()
}
