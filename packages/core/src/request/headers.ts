import type { HeadersInput } from '../types.js'

/**
 * Case-insensitive, all-values header access over either header shape adapters hand us.
 * Built once per request; lookups return every value so a duplicated single-value header
 * can be refused instead of silently read as its first value (principle 4).
 */
export interface HeaderReader {
  /** Every value of the header, trimmed; undefined when absent. `name` must be lowercase. */
  all(name: string): readonly string[] | undefined
  /** Header value count, characters of names + values, and the longest value: for size caps. */
  stats(): HeaderStats
}

export interface HeaderStats {
  count: number
  bytes: number
  maxValue: number
}

const EMPTY: readonly string[] = []

function isWebHeaders(
  h: HeadersInput,
): h is { get(name: string): string | null; forEach(cb: (v: string, k: string) => void): void } {
  return typeof (h as { get?: unknown }).get === 'function'
}

function trimValues(value: unknown): readonly string[] | undefined {
  if (typeof value === 'string') return [value.trim()]
  if (Array.isArray(value)) {
    const out: string[] = []
    for (const v of value as unknown[]) if (typeof v === 'string') out.push(v.trim())
    return out.length === 0 ? undefined : out
  }
  return undefined
}

export function readHeaders(input: HeadersInput | null | undefined): HeaderReader {
  if (input === null || typeof input !== 'object') return emptyReader
  return isWebHeaders(input) ? webReader(input) : recordReader(input)
}

const emptyReader: HeaderReader = {
  all: () => undefined,
  stats: () => ({ count: 0, bytes: 0, maxValue: 0 }),
}

function recordReader(
  record: Readonly<Record<string, string | readonly string[] | undefined>>,
): HeaderReader {
  // Node lowercases header names; a hand-built object may not. Only pay for a case-folded copy
  // when some key actually has an upper-case letter.
  let folded: Map<string, string[]> | undefined
  let checked = false
  const fold = (): Map<string, string[]> | undefined => {
    if (checked) return folded
    checked = true
    let needs = false
    for (const key of Object.keys(record)) {
      if (key !== key.toLowerCase()) {
        needs = true
        break
      }
    }
    if (!needs) return undefined
    folded = new Map()
    for (const key of Object.keys(record)) {
      const values = trimValues(record[key])
      if (values === undefined) continue
      const lower = key.toLowerCase()
      const existing = folded.get(lower)
      if (existing) existing.push(...values)
      else folded.set(lower, [...values])
    }
    return folded
  }
  return {
    all(name) {
      const map = fold()
      if (map) return map.get(name)
      return Object.prototype.hasOwnProperty.call(record, name)
        ? trimValues(record[name])
        : undefined
    },
    stats() {
      const stats: HeaderStats = { count: 0, bytes: 0, maxValue: 0 }
      for (const key of Object.keys(record)) {
        for (const v of trimValues(record[key]) ?? EMPTY) add(stats, key, v)
      }
      return stats
    },
  }
}

function webReader(headers: {
  get(name: string): string | null
  forEach(cb: (v: string, k: string) => void): void
}): HeaderReader {
  // Web Headers already join repeated fields with ", " (Set-Cookie aside, which requests do
  // not carry), so one value per name is all that can be recovered here.
  return {
    all(name) {
      let value: string | null
      try {
        value = headers.get(name)
      } catch {
        return undefined
      }
      return value === null ? undefined : [value.trim()]
    },
    stats() {
      const stats: HeaderStats = { count: 0, bytes: 0, maxValue: 0 }
      try {
        headers.forEach((v, k) => add(stats, k, v))
      } catch {
        // A hostile Headers-like object: count what we saw.
      }
      return stats
    },
  }
}

function add(stats: HeaderStats, name: string, value: string): void {
  stats.count++
  stats.bytes += name.length + value.length
  if (value.length > stats.maxValue) stats.maxValue = value.length
}
