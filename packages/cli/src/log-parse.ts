// Reading request logs for `sec replay`: the JSON decision log (one DecisionEvent per line, as
// @sec/core emits it, possibly wrapped: `{ service, ...event }` or nested one level as pino
// writes `{ level, sec: event }`) and the combined access-log format. Detected per line.

export interface LoggedDecision {
  /** Present for JSON events; an access log only has the response status. */
  allowed?: boolean
  status: number
  code?: string
  ruleId?: string
  apiKeyId?: string
}

export interface LogRecord {
  /** 1-based line number in the log. */
  line: number
  format: 'json' | 'combined'
  method: string
  /** Request-target to replay. */
  target: string
  /** Path to show in reports (no query string: it may hold secrets). */
  shownPath: string
  /** '' when unknown. */
  clientIp: string
  /** undefined: no User-Agent header. */
  userAgent: string | undefined
  /** Epoch ms, when the line says. */
  time: number | undefined
  service: string | undefined
  old: LoggedDecision
}

/** Undoes @sec/core's escapeControl (`\xHH`, `\uHHHH`; a backslash is always escaped). */
export function unescapeControl(text: string): string {
  if (!text.includes('\\')) return text
  return text.replace(
    /\\x([0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})/g,
    (_, x: string | undefined, u: string | undefined) =>
      String.fromCharCode(parseInt((x ?? u)!, 16)),
  )
}

/** A canonical path back into a request-target that canonicalises to it. */
export function pathToTarget(path: string): string {
  return path.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/]/gu, (c) => {
    try {
      return encodeURIComponent(c)
    } catch {
      return '%EF%BF%BD' // a lone surrogate: U+FFFD
    }
  })
}

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v)

function isEvent(v: unknown): v is Json {
  return (
    isObject(v) &&
    typeof v.method === 'string' &&
    typeof v.path === 'string' &&
    typeof v.status === 'number' &&
    Number.isInteger(v.status)
  )
}

const optString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

function parseJsonLine(text: string, line: number): LogRecord | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (!isObject(value)) return undefined
  let event: Json | undefined = isEvent(value) ? value : undefined
  if (event === undefined) {
    for (const inner of Object.values(value)) {
      if (isEvent(inner)) {
        event = inner
        break
      }
    }
  }
  if (event === undefined) return undefined
  const code = optString(event.code)
  const path = unescapeControl(event.path as string)
  const old: LoggedDecision = { status: event.status as number }
  if (typeof event.allowed === 'boolean') old.allowed = event.allowed
  if (code !== undefined) old.code = code
  const ruleId = optString(event.ruleId)
  if (ruleId !== undefined) old.ruleId = ruleId
  const apiKeyId = optString(event.apiKeyId)
  if (apiKeyId !== undefined) old.apiKeyId = apiKeyId
  const ua = optString(event.userAgent)
  const time =
    typeof event.time === 'number' && Number.isFinite(event.time) ? event.time : undefined
  return {
    line,
    format: 'json',
    method: unescapeControl(event.method as string),
    // An invalid target was logged raw: replay it raw so it stays invalid.
    target: code === 'request.invalid' ? path : pathToTarget(path),
    shownPath: event.path as string,
    clientIp: optString(event.clientIp) ?? '',
    userAgent: ua === undefined || ua === '' ? undefined : unescapeControl(ua),
    time,
    service: optString(value.service) ?? optString(event.service),
    old,
  }
}

// ip ident user [date] "request" status size "referer" "user-agent" (referer and UA optional:
// the common log format has neither). Quoted fields may hold \" \\ or \xHH escapes.
const COMBINED =
  /^(\S+) \S+ \S+ \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}) (?:\d+|-)(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?(?:\s.*)?$/

const MONTHS: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
}

/** `10/Oct/2000:13:55:36 -0700` → epoch ms. */
export function parseClfDate(text: string): number | undefined {
  const m =
    /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?: ([+-])(\d{2})(\d{2}))?$/.exec(
      text,
    )
  if (!m) return undefined
  const month = MONTHS[m[2]!]
  if (month === undefined) return undefined
  const utc = Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]))
  const offset = m[7] ? (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9])) * 60_000 : 0
  return utc - offset
}

function unquote(text: string): string {
  return text.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, e: string) =>
    e.length === 3 ? String.fromCharCode(parseInt(e.slice(1), 16)) : e,
  )
}

function parseCombinedLine(text: string, line: number): LogRecord | undefined {
  const m = COMBINED.exec(text)
  if (!m) return undefined
  const request = unquote(m[3]!)
  const parts = request.split(' ')
  if (parts.length < 2 || parts.length > 3) return undefined
  const [method, target, protocol] = parts as [string, string, string | undefined]
  if (!/^[A-Za-z-]{1,32}$/.test(method) || target === '') return undefined
  if (protocol !== undefined && !/^HTTP\/\d(\.\d)?$/.test(protocol)) return undefined
  const ua = m[6] === undefined ? undefined : unquote(m[6])
  const q = target.search(/[?#]/)
  return {
    line,
    format: 'combined',
    method,
    target,
    shownPath: q < 0 ? target : `${target.slice(0, q)}?…`,
    clientIp: m[1] === '-' ? '' : m[1]!,
    userAgent: ua === undefined || ua === '-' || ua === '' ? undefined : ua,
    time: parseClfDate(m[2]!),
    service: undefined,
    old: { status: Number(m[4]) },
  }
}

/** One log line → a record, or undefined when it is neither format. */
export function parseLogLine(text: string, line: number): LogRecord | undefined {
  const trimmed = text.trim()
  if (trimmed.startsWith('{')) return parseJsonLine(trimmed, line)
  return parseCombinedLine(trimmed, line)
}
