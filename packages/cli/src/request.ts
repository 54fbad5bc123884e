import { usage } from './errors.js'

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/**
 * Parses `-H 'name: value'` (curl style). Errors name the header (or its position), never its
 * value: a header may carry a key.
 */
export function parseHeaderArg(arg: string, position: number, command: string): [string, string] {
  const colon = arg.indexOf(':')
  if (colon <= 0) {
    // Not echoed: a header given without its name may be a bare key.
    throw usage(
      `${command}: header #${position} must be written 'name: value' (see sec ${command} --help)`,
    )
  }
  const name = arg.slice(0, colon).trim()
  if (!TOKEN.test(name)) {
    throw usage(`${command}: header #${position} has an invalid name (see sec ${command} --help)`)
  }
  return [name.toLowerCase(), arg.slice(colon + 1).trim()]
}

/** Headers as core takes them: name → every value, in the order given. */
export function headerMap(pairs: readonly [string, string][]): Record<string, string[]> {
  const headers: Record<string, string[]> = {}
  for (const [name, value] of pairs) (headers[name] ??= []).push(value)
  return headers
}

/** `--context userId=u_42` → { userId: 'u_42' }. */
export function parseContextArgs(args: readonly string[], command: string): Record<string, string> {
  const context: Record<string, string> = {}
  for (const arg of args) {
    const eq = arg.indexOf('=')
    if (eq <= 0) throw usage(`${command}: --context must be name=value (see sec ${command} --help)`)
    context[arg.slice(0, eq)] = arg.slice(eq + 1)
  }
  return context
}

const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/

export function checkMethod(method: string, command: string): string {
  if (!METHOD.test(method)) throw usage(`${command}: --method must be an HTTP method such as GET`)
  return method.toUpperCase()
}

/**
 * The URL for display, with the values of query parameters that may carry a key (the `query`
 * option of apiKey rules) masked.
 */
export function maskUrl(url: string, secretParams: ReadonlySet<string>): string {
  const q = url.indexOf('?')
  if (q < 0 || secretParams.size === 0) return url
  const hash = url.indexOf('#', q)
  const query = url.slice(q + 1, hash < 0 ? undefined : hash)
  const masked = query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=')
      if (eq < 0) return pair
      let name: string
      try {
        name = decodeURIComponent(pair.slice(0, eq).replace(/\+/g, ' '))
      } catch {
        name = pair.slice(0, eq)
      }
      return secretParams.has(name) ? `${pair.slice(0, eq)}=…` : pair
    })
    .join('&')
  return url.slice(0, q + 1) + masked + (hash < 0 ? '' : url.slice(hash))
}
