// A model of how routers, proxies and URL parsers read a request-target: the oracle of the
// path-variant attacks. It is written independently of core (no import from src/): each reading
// is a string some component could route by, reached from the raw target by any sequence of
// the operations below. The attack tests ask core to protect a request whenever one reading is
// a protected path.
import { parse as legacyParse } from 'node:url'

/** At most this many decoding rounds (core decodes three times; a fourth is not modelled). */
const MAX_DECODES = 3
/** A safety cap on the readings explored for one target. */
const MAX_READINGS = 2000

/** Decodes every maximal run of valid escapes that is valid UTF-8; keeps the rest as it is. */
export function decodeOnce(s: string): string {
  return s.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run)
    } catch {
      // A run with invalid UTF-8: decode the escapes that are ASCII, keep the others.
      return run.replace(/%([0-7][0-9a-fA-F])/g, (_, h: string) =>
        String.fromCharCode(parseInt(h, 16)),
      )
    }
  })
}

/** RFC 3986 remove_dot_segments over `/`-separated segments (empty segments kept). */
export function resolveDots(p: string): string {
  const out: string[] = []
  const segments = p.split('/').slice(1)
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1
    if (segment === '.') {
      if (last) out.push('')
    } else if (segment === '..') {
      out.pop()
      if (last) out.push('')
    } else out.push(segment)
  })
  return '/' + out.join('/')
}

/** Operations some router, proxy or URL parser applies to a path (each one alone). */
const OPERATIONS: readonly ((p: string) => string)[] = [
  (p) => (p.includes(';') ? p.slice(0, p.indexOf(';')) : p), // `;` starts the query (Fastify)
  (p) => p.replace(/;[^/\\]*/g, ''), // `;` starts each segment's parameters (servlets)
  (p) => p.replace(/\\/g, '/'), // a backslash is a slash (WHATWG, Windows, many proxies)
  (p) => p.replace(/\/{2,}/g, '/'), // repeated slashes collapsed
  resolveDots,
  (p) => (p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p), // trailing slash ignored
  (p) => p.toLowerCase(), // case-insensitive routers
  (p) => p.toUpperCase().toLowerCase(), // …that compare upper-cased (ſ is S, K is k)
]

/**
 * Where the path of a raw request-target starts, read the way core and WHATWG URL read http(s)
 * absolute form (the authority ends at the first `/`, `\`, `?` or `#`); undefined for anything
 * that is not origin or absolute form.
 */
function rawPaths(target: string): string[] {
  const out: string[] = []
  const cutQuery = (p: string) => p.replace(/[?#][\s\S]*$/, '')
  if (target.startsWith('/')) out.push(cutQuery(target))
  const absolute = /^https?:\/\//i.exec(target)
  if (absolute) {
    const rest = target.slice(absolute[0].length)
    const end = rest.search(/[/\\?#]/)
    const path = end < 0 ? '/' : rest.slice(end)
    out.push(cutQuery(path.startsWith('?') || path.startsWith('#') ? '/' : path))
  }
  // Node's legacy url.parse (Express's parseurl) and WHATWG URL (Hono, fetch runtimes).
  try {
    const legacy = legacyParse(target).pathname
    if (legacy) out.push(legacy)
  } catch {
    // Not parsable that way.
  }
  try {
    const base = target.startsWith('/') ? `http://h${target}` : target
    out.push(new URL(base).pathname)
  } catch {
    // Not parsable that way.
  }
  return out.map((p) => (p.startsWith('/') ? p : `/${p}`))
}

/**
 * Every reading of `target`: what any combination of decoding (up to three rounds) and the
 * operations above can make of its path.
 */
export function readings(target: string): Set<string> {
  const seen = new Map<string, number>() // reading -> fewest decodes used to reach it
  const queue: [string, number][] = rawPaths(target).map((p) => [p, 0])
  while (queue.length > 0 && seen.size < MAX_READINGS) {
    const [p, decodes] = queue.shift()!
    const known = seen.get(p)
    if (known !== undefined && known <= decodes) continue
    seen.set(p, decodes)
    for (const op of OPERATIONS) queue.push([op(p), decodes])
    if (decodes < MAX_DECODES && p.includes('%')) queue.push([decodeOnce(p), decodes + 1])
  }
  return new Set(seen.keys())
}

/** True when `reading` is `base` or below it (`/admin/x` for `/admin`). */
export function isUnder(reading: string, base: string): boolean {
  return reading === base || reading.startsWith(base.endsWith('/') ? base : `${base}/`)
}
