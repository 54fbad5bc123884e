// @sec/hono: sec for Hono, wherever Hono runs (Node, Bun, Deno, Cloudflare Workers...).
// No runtime import beyond @sec/core and hono/factory: Node, Bun and Deno are detected by shape.
import { denialBody, engineFromOptions, isPromiseLike, nodeRequestInput } from '@sec/core'
import type { Decision, NodeRequestLike, RequestInput, SecOptions } from '@sec/core'
import type { Context, MiddlewareHandler } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

/** What `sec()` adds to the context: `c.get('sec')` is the request's Decision. */
export type SecVariables = { sec: Decision }
/** The Hono env of the middleware: `new Hono<SecEnv>()` types `c.get('sec')` in handlers. */
export type SecEnv = { Variables: SecVariables }

/** The peer address, in the shape of Hono's `getConnInfo` helpers (`hono/bun`, `hono/deno`...). */
export type GetConnInfo = (c: Context) => { remote: { address?: string | undefined } }

/** Options of `sec()`: `{ policy }` (plus store, onDecision, rules) or `{ engine }`. */
export type HonoSecOptions = SecOptions<Context> & {
  /**
   * Supplies the socket peer address (overrides detection). Hono's `getConnInfo` from
   * `hono/bun`, `hono/deno`, `hono/cloudflare-workers`... fits.
   */
  getConnInfo?: GetConnInfo | undefined
}

type Bag = Record<string, unknown>
const isObject = (v: unknown): v is Bag => typeof v === 'object' && v !== null

/** `c.env.incoming` when @hono/node-server (or Hono's Vercel/Node listeners) passed Node's request. */
function nodeIncoming(env: unknown): NodeRequestLike | undefined {
  const incoming: unknown = isObject(env) ? env.incoming : undefined
  return isObject(incoming) && Array.isArray(incoming.rawHeaders)
    ? (incoming as unknown as NodeRequestLike)
    : undefined
}

/** Peer address from the runtime's own env: Bun's server (`requestIP`), Deno's `info.remoteAddr`. */
function runtimePeer(c: Context): string | undefined {
  const env: unknown = c.env
  if (!isObject(env)) return undefined
  const server = isObject(env.server) ? env.server : env
  if (typeof server.requestIP === 'function') {
    const info: unknown = (server as { requestIP(r: Request): unknown }).requestIP(c.req.raw)
    return isObject(info) && typeof info.address === 'string' ? info.address : undefined
  }
  const addr = env.remoteAddr
  return isObject(addr) && typeof addr.hostname === 'string' ? addr.hostname : undefined
}

const href = (url: string): string | undefined => {
  try {
    return new URL(url).href
  } catch {
    return undefined
  }
}

/**
 * Whether `url` (c.req.url) is what @hono/node-server built from the raw `target`, so the raw
 * target describes the request Hono routes: not so when `app.mount()` stripped a prefix or an
 * app re-dispatched another Request with the same env.
 */
function isWireUrl(url: string, target: string): boolean {
  if (target[0] !== '/') return href(target) === url // absolute form
  const pathStart = url.indexOf('/', url.indexOf('//') + 2)
  if (pathStart < 0) return false
  if (url.length - pathStart === target.length && url.startsWith(target, pathStart)) return true
  return href(url.slice(0, pathStart) + target) === url // dot segments, escapes URL added
}

interface NodeResponseLike {
  readonly headersSent: boolean
  setHeader(name: string, value: string): unknown
}

/** `c.env.outgoing`: Node's response, beside `incoming`. */
function nodeOutgoing(env: unknown): NodeResponseLike | undefined {
  const outgoing: unknown = isObject(env) ? env.outgoing : undefined
  return isObject(outgoing) && typeof outgoing.setHeader === 'function'
    ? (outgoing as unknown as NodeResponseLike)
    : undefined
}

function requestInput(c: Context, options: HonoSecOptions): RequestInput {
  const context = options.context?.(c)
  const peer = options.getConnInfo?.(c)?.remote?.address
  const given = typeof peer === 'string' ? peer : undefined
  const incoming = nodeIncoming(c.env)
  if (incoming && isWireUrl(c.req.url, incoming.url ?? '')) {
    // Node: the raw request-target, every header line, the socket peer.
    const input = nodeRequestInput(incoming, incoming.url, context)
    return options.getConnInfo ? { ...input, remoteAddress: given } : input
  }
  return {
    method: c.req.raw.method,
    url: c.req.url, // absolute form: core judges it by its path
    headers: c.req.raw.headers,
    remoteAddress: options.getConnInfo
      ? given
      : (incoming?.socket?.remoteAddress ?? runtimePeer(c)),
    context,
  }
}

/** Sets the Decision's headers the response lacks (a handler's raw `new Response` drops them). */
function restoreHeaders(c: Context, headers: Record<string, string>, names: string[]): void {
  if (c.res.status < 200) return // a protocol switch (WebSocket upgrade): leave it as is
  let copied = false
  for (const name of names) {
    if (c.res.headers.has(name)) continue
    if (copied) c.res.headers.set(name, headers[name]!)
    else c.header(name, headers[name]) // copies a finalized (maybe immutable) response once
    copied = true
  }
}

/**
 * Hono middleware applying a sec policy: denied requests get `{ error, message }` with the
 * Decision's status and headers (the handler never runs); allowed ones carry the Decision at
 * `c.get('sec')` and its headers (RateLimit...) on the response.
 */
export function sec(options: HonoSecOptions): MiddlewareHandler<SecEnv> {
  const engine = engineFromOptions(options, '@sec/hono')
  if (options.getConnInfo !== undefined && typeof options.getConnInfo !== 'function') {
    throw new TypeError(
      '@sec/hono: getConnInfo must be a function (c) => ({ remote: { address } })',
    )
  }
  return createMiddleware<SecEnv>(async (c, next) => {
    const input = requestInput(c, options)
    const pending = engine.evaluate(input, c)
    const decision = isPromiseLike(pending) ? await pending : pending
    if (!decision.allowed) {
      const status = decision.status as ContentfulStatusCode
      return c.json(denialBody(decision), status, decision.headers)
    }
    c.set('sec', decision)
    // Node's own request as received (its rawHeaders, not a Web Headers): Node's response
    // carries this request's answer.
    const outgoing = Array.isArray(input.headers) ? nodeOutgoing(c.env) : undefined
    if (outgoing !== undefined && !outgoing.headersSent) {
      // On Node, straight onto Node's response: @hono/node-server's writeHead merges the
      // handler's headers over them (its value wins), whatever Response the handler returns,
      // and no Web Headers object is built per request for them.
      for (const name in decision.headers) outgoing.setHeader(name, decision.headers[name]!)
      await next()
      return
    }
    const names = Object.keys(decision.headers)
    for (const name of names) c.header(name, decision.headers[name])
    await next()
    if (names.length > 0) restoreHeaders(c, decision.headers, names)
  })
}
