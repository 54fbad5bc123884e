// The cases file of `sec test`: policy tests as data. Validated here with every problem at once,
// each with its JSON Pointer (and line), like the policy itself.

import { parseDuration } from '@sec/core'
import { parseJson, type Location } from './json-locate.js'

export interface CaseRequest {
  method: string
  url: string
  headers: Record<string, string[]>
  ip: string | undefined
  context: Record<string, string>
}

export interface CaseExpect {
  status: number
  code?: string
  /** null: no rule decided. */
  ruleId?: string | null
  /** null: no key verified. */
  apiKeyId?: string | null
  headers?: Record<string, string>
}

export interface TestCase {
  name: string
  request: CaseRequest
  expect: CaseExpect
  repeat: number
  advanceMs: number
}

export interface CaseProblem {
  path: string
  message: string
  location?: Location | undefined
}

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v)
const typeName = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/
const MAX_REPEAT = 100_000

export function parseCases(
  text: string,
): { ok: true; cases: TestCase[] } | { ok: false; problems: CaseProblem[] } {
  const parsed = parseJson(text)
  if (!parsed.ok) {
    return {
      ok: false,
      problems: [
        { path: '', message: `not valid JSON: ${parsed.message}`, location: parsed.location },
      ],
    }
  }
  const problems: CaseProblem[] = []
  const bad = (path: string, message: string): void => {
    problems.push({ path, message, location: parsed.locate(path) })
  }
  for (const d of parsed.duplicates)
    bad(d.pointer, 'appears twice in the same object (JSON keeps only the last one)')

  const root = parsed.value
  if (!isObject(root)) {
    bad('', `must be an object { "cases": [ … ] }, got ${typeName(root)}`)
    return { ok: false, problems }
  }
  known(root, '', ['$schema', 'description', 'defaults', 'cases'], bad)
  let defaults: RawRequest = {}
  if (root.defaults !== undefined) defaults = readRequest(root.defaults, '/defaults', bad, false)
  const cases: TestCase[] = []
  if (!Array.isArray(root.cases)) {
    bad(
      '/cases',
      root.cases === undefined ? 'is required' : `must be an array, got ${typeName(root.cases)}`,
    )
  } else {
    if (root.cases.length === 0) bad('/cases', 'must not be empty')
    const names = new Map<string, number>()
    root.cases.forEach((raw: unknown, i) => {
      const at = `/cases/${i}`
      if (!isObject(raw)) {
        bad(at, `must be an object, got ${typeName(raw)}`)
        return
      }
      known(raw, at, ['name', 'description', 'request', 'expect', 'repeat', 'advance'], bad)
      let name = `case ${i + 1}`
      if (typeof raw.name !== 'string' || raw.name.trim() === '') {
        bad(`${at}/name`, raw.name === undefined ? 'is required' : 'must be a non-empty string')
      } else {
        name = raw.name
        const first = names.get(name)
        if (first !== undefined) bad(`${at}/name`, `duplicate case name (also /cases/${first})`)
        else names.set(name, i)
      }
      let request: RawRequest = {}
      if (raw.request === undefined) bad(`${at}/request`, 'is required')
      else request = readRequest(raw.request, `${at}/request`, bad, true)
      let expect: CaseExpect = { status: 0 }
      if (raw.expect === undefined) bad(`${at}/expect`, 'is required')
      else expect = readExpect(raw.expect, `${at}/expect`, bad)
      let repeat = 1
      if (raw.repeat !== undefined) {
        if (
          typeof raw.repeat !== 'number' ||
          !Number.isInteger(raw.repeat) ||
          raw.repeat < 1 ||
          raw.repeat > MAX_REPEAT
        ) {
          bad(`${at}/repeat`, `must be a whole number from 1 to ${MAX_REPEAT}`)
        } else repeat = raw.repeat
      }
      let advanceMs = 0
      if (raw.advance !== undefined) {
        const ms = parseDuration(raw.advance)
        if (ms === undefined)
          bad(
            `${at}/advance`,
            'must be a duration: "500ms", "10s", "1m", "1h", "1d", or milliseconds',
          )
        else advanceMs = ms
      }
      cases.push({
        name,
        request: {
          method: request.method ?? defaults.method ?? 'GET',
          url: request.url ?? '/',
          headers: mergeHeaders(defaults.headers, request.headers),
          ip: request.ip ?? defaults.ip,
          context: { ...defaults.context, ...request.context },
        },
        expect,
        repeat,
        advanceMs,
      })
    })
  }
  if (problems.length > 0) {
    problems.sort(
      (a, b) =>
        (a.location?.line ?? 0) - (b.location?.line ?? 0) ||
        (a.location?.column ?? 0) - (b.location?.column ?? 0),
    )
    return { ok: false, problems }
  }
  return { ok: true, cases }
}

type Bad = (path: string, message: string) => void

function known(obj: Json, at: string, names: string[], bad: Bad): void {
  for (const key of Object.keys(obj)) {
    if (!names.includes(key)) {
      bad(
        `${at}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`,
        `is not a known property (expected one of: ${names.join(', ')})`,
      )
    }
  }
}

/** A request as written: a header set to null removes the one set in "defaults". */
type RawRequest = Omit<Partial<CaseRequest>, 'headers'> & {
  headers?: Record<string, string[] | null>
}

function readRequest(raw: unknown, at: string, bad: Bad, withUrl: boolean): RawRequest {
  if (!isObject(raw)) {
    bad(at, `must be an object, got ${typeName(raw)}`)
    return {}
  }
  known(
    raw,
    at,
    withUrl
      ? ['method', 'url', 'headers', 'ip', 'context']
      : ['method', 'headers', 'ip', 'context'],
    bad,
  )
  const out: RawRequest = {}
  if (withUrl) {
    if (typeof raw.url !== 'string' || raw.url === '') {
      bad(
        `${at}/url`,
        raw.url === undefined
          ? 'is required'
          : 'must be a non-empty string (the raw request-target, e.g. "/api/orders?page=2")',
      )
    } else out.url = raw.url
  }
  if (raw.method !== undefined) {
    if (typeof raw.method !== 'string' || !METHOD.test(raw.method))
      bad(`${at}/method`, 'must be an HTTP method such as "GET"')
    else out.method = raw.method.toUpperCase()
  }
  if (raw.ip !== undefined) {
    if (typeof raw.ip !== 'string')
      bad(`${at}/ip`, `must be a string (the socket peer address), got ${typeName(raw.ip)}`)
    else out.ip = raw.ip
  }
  if (raw.headers !== undefined) {
    if (!isObject(raw.headers))
      bad(
        `${at}/headers`,
        `must be an object { "name": "value" or ["v1", "v2"] }, got ${typeName(raw.headers)}`,
      )
    else {
      const headers: Record<string, string[] | null> = {}
      for (const [name, value] of Object.entries(raw.headers)) {
        const path = `${at}/headers/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`
        if (!HEADER_NAME.test(name)) {
          bad(path, 'is not a valid header name')
          continue
        }
        // Never echo header values: they may be keys.
        if (typeof value === 'string') headers[name.toLowerCase()] = [value]
        else if (value === null && withUrl) headers[name.toLowerCase()] = null
        else if (
          Array.isArray(value) &&
          value.length > 0 &&
          value.every((v) => typeof v === 'string')
        ) {
          headers[name.toLowerCase()] = value as string[]
        } else {
          bad(
            path,
            `must be a string or a non-empty list of strings (one per repeated header)${withUrl ? ', or null to drop a header set in "defaults"' : ''}`,
          )
        }
      }
      out.headers = headers
    }
  }
  if (raw.context !== undefined) {
    if (!isObject(raw.context))
      bad(`${at}/context`, `must be an object { "name": "value" }, got ${typeName(raw.context)}`)
    else {
      const context: Record<string, string> = {}
      for (const [name, value] of Object.entries(raw.context)) {
        if (typeof value !== 'string')
          bad(
            `${at}/context/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`,
            `must be a string, got ${typeName(value)}`,
          )
        else context[name] = value
      }
      out.context = context
    }
  }
  return out
}

function readExpect(raw: unknown, at: string, bad: Bad): CaseExpect {
  const out: CaseExpect = { status: 0 }
  if (!isObject(raw)) {
    bad(at, `must be an object { "status", "code"?, "ruleId"? }, got ${typeName(raw)}`)
    return out
  }
  known(raw, at, ['status', 'code', 'ruleId', 'apiKeyId', 'headers'], bad)
  if (
    typeof raw.status !== 'number' ||
    !Number.isInteger(raw.status) ||
    raw.status < 100 ||
    raw.status > 599
  ) {
    bad(
      `${at}/status`,
      raw.status === undefined
        ? 'is required'
        : 'must be an HTTP status (100-599), e.g. 200 or 403',
    )
  } else out.status = raw.status
  if (raw.code !== undefined) {
    if (typeof raw.code !== 'string' || raw.code === '')
      bad(`${at}/code`, 'must be a Decision code such as "allowed" or "path.denied"')
    else out.code = raw.code
  }
  for (const field of ['ruleId', 'apiKeyId'] as const) {
    const v = raw[field]
    if (v === undefined) continue
    if (v === null || (typeof v === 'string' && v !== '')) out[field] = v
    else bad(`${at}/${field}`, 'must be a non-empty string, or null for "none"')
  }
  if (raw.headers !== undefined) {
    if (!isObject(raw.headers))
      bad(`${at}/headers`, 'must be an object { "Header-Name": "exact value" }')
    else {
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(raw.headers)) {
        if (typeof value !== 'string')
          bad(
            `${at}/headers/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`,
            `must be a string, got ${typeName(value)}`,
          )
        else headers[name] = value
      }
      out.headers = headers
    }
  }
  return out
}

function mergeHeaders(
  base: Record<string, string[] | null> | undefined,
  own: Record<string, string[] | null> | undefined,
): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const [name, value] of Object.entries({ ...base, ...own }))
    if (value !== null) out[name] = value
  return out
}
