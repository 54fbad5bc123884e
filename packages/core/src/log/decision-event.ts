import type { Decision, DecisionEvent } from '../types.js'
import { escapeControl } from './escape.js'

// Characters that either escapeControl or a JSON string would change: control characters,
// DEL, C1, U+2028/2029, the backslash and the quote. Text without any is "plain": it goes into
// the event as it is and into a JSON line between two quotes. A RegExp scans a 100-character
// user agent in about half the time a charCodeAt loop takes, and plain text is scanned once
// per event, here, instead of once to escape and again to format.
// eslint-disable-next-line no-control-regex
const NOT_PLAIN = /[\u0000-\u001f"\\\u007f-\u009f\u2028\u2029]/

export const isPlain = (text: string): boolean => !NOT_PLAIN.test(text)

/** `text` as a log field: control characters escaped, cut at `max` (then ending in `…`). */
function logField(text: string, max: number, plain: boolean): string {
  if (!plain) return escapeControl(text, max)
  return text.length > max ? `${text.slice(0, max)}…` : text
}

/** Longest user agent a log line carries. */
export const MAX_USER_AGENT = 256

/** Bits of `EngineDecisionEvent.plainFields`: one per text field. */
export const PLAIN_METHOD = 1
export const PLAIN_PATH = 2
export const PLAIN_CLIENT_IP = 4
export const PLAIN_USER_AGENT = 8

/**
 * The DecisionEvent the engine hands to `onDecision`. Its fields are own, enumerable data like
 * any object literal's (a logger serializes it as it would a literal); it also remembers,
 * privately, the text fields it found plain, so `formatDecisionEvent` writes them without a
 * second scan for as long as they hold the very strings that were checked (a sink may redact a
 * field before it formats the event: then that field is scanned as usual).
 */
export class EngineDecisionEvent implements DecisionEvent {
  time: number
  method: string
  path: string
  clientIp: string
  userAgent: string
  allowed: boolean
  status: number
  code: string
  declare ruleId?: string
  declare apiKeyId?: string
  declare monitored?: string[]
  durationMs: number
  readonly #plainMethod: string | undefined
  readonly #plainPath: string | undefined
  readonly #plainClientIp: string | undefined
  readonly #plainUserAgent: string | undefined

  constructor(
    method: string,
    path: string,
    userAgent: string,
    decision: Decision,
    durationMs: number,
    monitored: string[] | undefined,
  ) {
    const plainMethod = isPlain(method)
    const plainPath = isPlain(path)
    const plainUa = isPlain(userAgent)
    this.time = Date.now()
    this.method = logField(method, 32, plainMethod)
    this.path = logField(path, 2048, plainPath)
    // Client addresses are core's own text (an address it parsed, or ''): plain by making.
    this.clientIp = decision.clientIp
    this.userAgent = logField(userAgent, MAX_USER_AGENT, plainUa)
    this.allowed = decision.allowed
    this.status = decision.status
    this.code = decision.code
    if (decision.ruleId !== undefined) this.ruleId = decision.ruleId
    if (decision.apiKeyId !== undefined) this.apiKeyId = decision.apiKeyId
    if (monitored !== undefined) this.monitored = monitored
    this.durationMs = durationMs
    this.#plainMethod = plainMethod ? this.method : undefined
    this.#plainPath = plainPath ? this.path : undefined
    this.#plainClientIp = this.clientIp
    this.#plainUserAgent = plainUa ? this.userAgent : undefined
  }

  /** Which text fields of `event` still hold plain text the engine checked: `PLAIN_*` bits. */
  static plainFields(event: DecisionEvent): number {
    if (!(event instanceof EngineDecisionEvent)) return 0
    return (
      (event.method === event.#plainMethod ? PLAIN_METHOD : 0) |
      (event.path === event.#plainPath ? PLAIN_PATH : 0) |
      (event.clientIp === event.#plainClientIp ? PLAIN_CLIENT_IP : 0) |
      (event.userAgent === event.#plainUserAgent ? PLAIN_USER_AGENT : 0)
    )
  }
}
