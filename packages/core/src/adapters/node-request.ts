import type { RequestInput } from '../types.js'
import type { RequestContext } from './adapter-options.js'

/**
 * The parts of Node's `http.IncomingMessage` adapters read. Structural, so core imports no
 * Node types: Express, Fastify (`request.raw`), Koa (`ctx.req`) and Hono on Node all give one.
 */
export interface NodeRequestLike {
  readonly method?: string | undefined
  readonly url?: string | undefined
  readonly rawHeaders: readonly string[]
  readonly socket?: { readonly remoteAddress?: string | undefined } | null | undefined
}

/**
 * Maps a Node request to the engine's input: the raw request-target (never a router's
 * rewritten path), every header value as received (`rawHeaders`: a duplicated header stays
 * visible), and the socket peer (never a framework's proxy-derived `req.ip`).
 */
export function nodeRequestInput(
  req: NodeRequestLike,
  url: string | undefined = req.url,
  context?: RequestContext,
): RequestInput {
  return {
    method: req.method ?? '',
    url: url ?? '',
    headers: req.rawHeaders,
    remoteAddress: req.socket?.remoteAddress,
    context,
  }
}
