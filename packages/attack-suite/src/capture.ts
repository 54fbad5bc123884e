// Looking for secrets and forged lines in everything an app emitted: its stdout and stderr
// (log lines), the answers it sent (bodies and headers) and the errors it threw.
import { createHash, randomBytes } from 'node:crypto'

/**
 * A secret sent to the app. `value` is what goes on the wire; `needles` are what must never
 * come back: a random alphanumeric core survives every escaping and encoding a log or a URL
 * applies (`\x1b`, `%1B`, JSON), so finding it finds the secret in any form; and the SHA-256
 * of the value, which would identify the key (and is the verifier the policy holds).
 */
export interface Secret {
  readonly label: string
  readonly value: string
  readonly needles: readonly string[]
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

/** A random token of letters and digits: no escaping changes it. */
export function token(length = 20): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789'
  return Array.from(randomBytes(length), (b) => alphabet[b % alphabet.length]).join('')
}

/** A secret whose value is `shape(core)`, `core` being a fresh random token. */
export function secret(label: string, shape: (core: string) => string = (core) => core): Secret {
  const core = token()
  const value = shape(core)
  return { label, value, needles: [core, sha256(value)] }
}

/**
 * A short secret (a weak key someone pasted) that is its own needle: a parser quoting ten
 * characters around an error would show all of it.
 */
export function shortSecret(label: string, length = 8): Secret {
  const value = token(length)
  return { label, value, needles: [value, sha256(value)] }
}

/** A secret sent in an encoded form (Basic credentials): the encoded text is a needle too. */
export function encodedSecret(label: string, value: string, encoded: string): Secret {
  return { label, value: encoded, needles: [...new Set([encoded, sha256(value), sha256(encoded)])] }
}

/** Something the app emitted, named for the report. */
export interface Emitted {
  readonly source: string
  readonly text: string
}

/** Every place a needle of a secret shows up: `<secret> in <source>: …context…`. */
export function findLeaks(secrets: readonly Secret[], emitted: readonly Emitted[]): string[] {
  const leaks: string[] = []
  for (const { source, text } of emitted) {
    for (const s of secrets) {
      for (const needle of s.needles) {
        const at = text.indexOf(needle)
        if (at < 0) continue
        const context = text.slice(Math.max(0, at - 60), at + needle.length + 20)
        leaks.push(`${s.label} in ${source}: ${JSON.stringify(context)}`)
      }
    }
  }
  return leaks
}

// C0 and C1 controls, DEL, and the Unicode line/paragraph separators some log tools break on.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/

export const hasControl = (text: string): boolean => CONTROL.test(text)

/**
 * Splits a log stream into lines and parses each. A line that is not exactly one JSON object,
 * or that holds a raw control character or line separator, is a problem: a field broke out of
 * its string, or a log tool could split the line in two.
 */
export function parseLogLines(stream: string): {
  objects: Record<string, unknown>[]
  problems: string[]
} {
  const objects: Record<string, unknown>[] = []
  const problems: string[] = []
  const lines = stream.split('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  for (const line of lines) {
    if (hasControl(line)) problems.push(`raw control character in line ${JSON.stringify(line)}`)
    let parsed: unknown
    try {
      parsed = JSON.parse(line)
    } catch {
      problems.push(`not one JSON value: ${JSON.stringify(line)}`)
      continue
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      problems.push(`not a JSON object: ${JSON.stringify(line)}`)
      continue
    }
    objects.push(parsed as Record<string, unknown>)
  }
  return { objects, problems }
}

/** The request fields a decision log line carries: where a client's text lands. */
export const LOGGED_FIELDS = ['method', 'path', 'userAgent'] as const

export interface LoggedDecision {
  method: string
  path: string
  userAgent: string
  code: string
  apiKeyId?: string
}

/** Decision events in parsed log lines: top-level ones (onDecision) or pino's `sec` field. */
export function decisionsIn(objects: readonly Record<string, unknown>[]): LoggedDecision[] {
  const isEvent = (v: unknown): v is LoggedDecision =>
    v !== null &&
    typeof v === 'object' &&
    typeof (v as LoggedDecision).path === 'string' &&
    typeof (v as LoggedDecision).code === 'string'
  const out: LoggedDecision[] = []
  for (const o of objects) {
    if (isEvent(o.sec)) out.push(o.sec)
    else if (isEvent(o)) out.push(o)
  }
  return out
}
