const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** Longest window we accept: a year. Longer is almost certainly a typo. */
export const MAX_DURATION_MS = 365 * 86_400_000

/**
 * Parses `"500ms"`, `"10s"`, `"1m"`, `"1h"`, `"1d"` (a positive integer and a unit), or a
 * number of milliseconds. Returns undefined for anything else.
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isInteger(value) && value > 0 && value <= MAX_DURATION_MS ? value : undefined
  }
  if (typeof value !== 'string' || value.length > 20) return undefined
  const match = /^([1-9][0-9]{0,9})(ms|s|m|h|d)$/.exec(value)
  if (!match) return undefined
  const ms = Number(match[1]) * UNIT_MS[match[2]!]!
  return ms <= MAX_DURATION_MS ? ms : undefined
}
