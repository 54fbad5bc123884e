// @sec/fastify: applies @sec/core Decisions in Fastify 5, as an onRequest hook.
import { denialBody, engineFromOptions, isPromiseLike, nodeRequestInput } from '@sec/core'
import type { Decision, DecisionEvent, Engine, SecOptions } from '@sec/core'
import type {
  FastifyInstance,
  FastifyPluginCallback,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify'
import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyRequest {
    /** The Decision of @sec/fastify for this request (`null` before its hook ran). */
    sec: Decision | null
  }
}

/** Options of `app.register(sec, options)`: `{ policy }` (plus store, onDecision, rules) or `{ engine }`, plus `context`. */
export type SecFastifyOptions = SecOptions<FastifyRequest>

export type { Decision, DecisionEvent } from '@sec/core'

const NAME = '@sec/fastify'
const MESSAGE = 'sec decision'

/**
 * Default decision log: through the request's own logger (so the line carries `reqId`), at
 * `info` for plain allowed requests and `warn` for denials and store faults that failed open.
 */
function logDecision(event: DecisionEvent, request?: unknown): void {
  const log = (request as FastifyRequest | undefined)?.log
  if (log === undefined) return
  if (event.allowed && event.code === 'allowed') log.info({ sec: event }, MESSAGE)
  else log.warn({ sec: event }, MESSAGE)
}

/**
 * Whether the default log would write this decision: skipped decisions build no event. Pino
 * answers `isLevelEnabled`; Fastify's logger when it is off (abstract-logging) has no such
 * method, and its methods are all one function named `noop`, like a pino level that is off.
 */
function wouldLog(decision: Decision, request?: unknown): boolean {
  const log = (request as FastifyRequest | undefined)?.log as
    (FastifyRequest['log'] & { isLevelEnabled?: (level: string) => boolean }) | undefined
  if (log === undefined) return false
  const level = decision.allowed && decision.code === 'allowed' ? 'info' : 'warn'
  if (typeof log.isLevelEnabled === 'function') return log.isLevelEnabled(level)
  return log[level].name !== 'noop'
}

/** Applies a Decision; returns true when the request may go on to its handler. */
function apply(decision: Decision, request: FastifyRequest, reply: FastifyReply): boolean {
  request.sec = decision
  if (decision.allowed) {
    reply.headers(decision.headers)
    return true
  }
  void reply.code(decision.status).headers(decision.headers).send(denialBody(decision))
  return false
}

/** Settles the hook for an answered Decision: `done()` only when allowed; errors to `done(err)`. */
function settle(
  decision: Decision,
  request: FastifyRequest,
  reply: FastifyReply,
  done: HookHandlerDoneFunction,
): void {
  let allowed: boolean
  try {
    allowed = apply(decision, request, reply)
  } catch (error) {
    done(toError(error))
    return
  }
  if (allowed) done()
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}

const plugin: FastifyPluginCallback<SecFastifyOptions> = (
  app: FastifyInstance,
  options: SecFastifyOptions,
  next: (err?: Error) => void,
) => {
  let engine: Engine
  try {
    engine = engineFromOptions(options, NAME, { onDecision: logDecision, shouldLog: wouldLog })
  } catch (error) {
    next(toError(error))
    return
  }
  const context = options.context
  // Nested registrations (a stricter policy for one encapsulated context) share the decorator.
  if (!app.hasRequestDecorator('sec')) app.decorateRequest('sec', null)

  app.addHook('onRequest', (request, reply, done) => {
    const raw = request.raw
    // The raw request-target and the socket peer: never Fastify's routed path or request.ip.
    // (Core also matches deny rules on the path cut at a `;`, as useSemicolonDelimiter routes.)
    const input = nodeRequestInput(raw, raw.url, context ? context(request) : undefined)
    const result = engine.evaluate(input, request)
    if (!isPromiseLike(result)) {
      settle(result, request, reply, done)
      return
    }
    // evaluate never rejects; the catch only guards against a throw from Fastify's own
    // continuation, so nothing here can become an unhandled rejection.
    void result
      .then(
        (decision) => settle(decision, request, reply, done),
        (error: unknown) => done(toError(error)),
      )
      .catch((error: unknown) => request.log.error({ err: error }, `${NAME}: hook failed`))
  })
  next()
}

/**
 * The sec plugin: `app.register(sec, { policy })`. Wrapped with fastify-plugin, so its
 * onRequest hook applies to the registering context and everything below it (for the root
 * instance: every route and the 404 handler).
 */
export const sec = fp(plugin, { name: NAME, fastify: '5.x' })
