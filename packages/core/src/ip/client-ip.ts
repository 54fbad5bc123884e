import type { CidrRange, IpAddress } from './ip-address.js'
import { parseIp, parseIpEntry } from './ip-address.js'
import { IpSet } from './ip-set.js'

// Security principle 2: the socket peer is the client unless it is a trusted proxy; only then
// is ONE forwarding header read, from the right, and only as far as trusted hops reach. Anything
// to the left of the first untrusted hop was written by the client and could say anything.

export type ForwardingHeader = 'x-forwarded-for' | 'forwarded'

export interface ClientIpOptions {
  /**
   * Which peers may speak for others:
   * - absent or `false`: none; the socket peer is always the client (the default);
   * - a number N: the peer and the N-1 hops nearest to it are proxies (like Express's
   *   `trust proxy = N`); the client is the Nth entry from the right;
   * - a list of CIDRs, addresses or keywords (`loopback`, `private`, `linklocal`): hops in
   *   those ranges are proxies;
   * - `true`: every hop is trusted and the client is the leftmost entry. DANGEROUS: whoever
   *   can reach the server directly can claim any address. Use only when the server is
   *   unreachable except through proxies that overwrite the header.
   */
  trustProxy?: boolean | number | readonly string[]
  /** The one header that is read; the other is ignored. Default `x-forwarded-for`. */
  header?: ForwardingHeader
}

export interface ClientIpResolver {
  readonly header: ForwardingHeader
  /** False when no proxy is trusted: the client is always the peer, headers are never read. */
  readonly readsHeader: boolean
  /**
   * The client address, or undefined when it cannot be known (no or bad peer address, or a
   * hop that is not an address on the trusted path). `headerValues` are all occurrences of
   * `header`, in the order received.
   */
  resolve(
    remoteAddress: string | undefined,
    headerValues: readonly string[] | undefined,
  ): IpAddress | undefined
}

/** Whether the hop `hop` places from the peer (the peer is 0) at address `ip` is a proxy. */
type Trust = (ip: IpAddress, hop: number) => boolean

const TRUST_NONE: Trust = () => false
const TRUST_ALL: Trust = () => true

/** Builds the resolver once, at engine creation. Never throws; unparsable entries are ignored. */
export function compileClientIp(options: ClientIpOptions): ClientIpResolver {
  const header: ForwardingHeader = options?.header === 'forwarded' ? 'forwarded' : 'x-forwarded-for'
  const trust = compileTrust(options?.trustProxy)
  const walk = header === 'forwarded' ? walkForwarded : walkXForwardedFor
  return {
    header,
    readsHeader: trust !== TRUST_NONE,
    resolve: (remoteAddress, headerValues) =>
      resolveClient(remoteAddress, headerValues, trust, walk),
  }
}

function compileTrust(trustProxy: ClientIpOptions['trustProxy'] | string): Trust {
  if (trustProxy === true) return TRUST_ALL
  if (typeof trustProxy === 'number') {
    if (!(trustProxy >= 1)) return TRUST_NONE
    const hops = Math.floor(trustProxy)
    return (_ip, hop) => hop < hops
  }
  const entries = typeof trustProxy === 'string' ? [trustProxy] : trustProxy
  if (!Array.isArray(entries)) return TRUST_NONE
  const ranges: CidrRange[] = []
  for (const entry of entries as readonly unknown[]) {
    if (typeof entry !== 'string') continue
    const parsed = parseIpEntry(entry)
    if (parsed !== undefined) ranges.push(...parsed)
  }
  if (ranges.length === 0) return TRUST_NONE
  const set = new IpSet(ranges)
  return (ip) => set.has(ip)
}

/**
 * Hands the hops of one header line to `visit`, rightmost first, until `visit` returns false
 * (then returns false too). `undefined` marks a hop that is no address.
 */
type WalkLine = (line: string, visit: (hop: string | undefined) => boolean) => boolean

function resolveClient(
  remoteAddress: string | undefined,
  headerValues: readonly string[] | string | undefined,
  trust: Trust,
  walk: WalkLine,
): IpAddress | undefined {
  if (typeof remoteAddress !== 'string') return undefined
  const peer = parseIp(remoteAddress)
  if (peer === undefined || !trust(peer, 0)) return peer
  const lines = typeof headerValues === 'string' ? [headerValues] : headerValues
  if (!Array.isArray(lines)) return peer
  let current: IpAddress | undefined = peer
  let hop = 0
  const visit = (text: string | undefined): boolean => {
    current = text === undefined ? undefined : parseHop(text)
    hop++
    return current !== undefined && trust(current, hop)
  }
  // Walked from the last line and stopped at the first untrusted hop: the client's own text
  // further left is never parsed (X-Forwarded-For is split lazily, Forwarded per line).
  for (let l = lines.length - 1; l >= 0; l--) {
    const line: unknown = lines[l]
    if (typeof line !== 'string') return undefined
    if (!walk(line, visit)) return current
  }
  return current
}

const SPACE = 0x20
const TAB = 0x09
const COMMA = 0x2c
const SEMICOLON = 0x3b
const EQUALS = 0x3d
const QUOTE = 0x22
const BACKSLASH = 0x5c

function isOws(code: number): boolean {
  return code === SPACE || code === TAB
}

function skipOws(text: string, from: number): number {
  let i = from
  while (i < text.length && isOws(text.charCodeAt(i))) i++
  return i
}

/** `text` without surrounding spaces and tabs (HTTP's OWS; other whitespace is kept). */
function trimOws(text: string): string {
  const start = skipOws(text, 0)
  let end = text.length
  while (end > start && isOws(text.charCodeAt(end - 1))) end--
  return start === 0 && end === text.length ? text : text.slice(start, end)
}

/** An X-Forwarded-For line is hops separated by commas; an empty hop is not an address. */
function walkXForwardedFor(line: string, visit: (hop: string | undefined) => boolean): boolean {
  if (skipOws(line, 0) === line.length) return true
  let end = line.length
  for (;;) {
    const comma = end === 0 ? -1 : line.lastIndexOf(',', end - 1)
    const hop = line.slice(comma + 1, end)
    if (!visit(skipOws(hop, 0) === hop.length ? undefined : hop)) return false
    if (comma < 0) return true
    end = comma
  }
}

function walkForwarded(line: string, visit: (hop: string | undefined) => boolean): boolean {
  const fors = splitForwarded(line)
  for (let f = fors.length - 1; f >= 0; f--) {
    if (!visit(fors[f])) return false
  }
  return true
}

/**
 * A hop as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `[2001:db8::1]`, `[2001:db8::1]:80`,
 * or a bare IPv6 address (where a trailing `:80` is read as part of the address, never as a
 * port). Ports are checked for shape and dropped.
 */
function parseHop(raw: string): IpAddress | undefined {
  const text = trimOws(raw)
  if (text.charCodeAt(0) === 0x5b /* [ */) {
    const close = text.indexOf(']')
    if (close < 0) return undefined
    const inner = text.slice(1, close)
    if (inner.indexOf(':') < 0) return undefined // brackets are for IPv6 only
    const rest = text.slice(close + 1)
    if (rest !== '' && !(rest.charCodeAt(0) === 0x3a && isPort(rest, 1))) return undefined
    return parseIp(inner)
  }
  const direct = parseIp(text)
  if (direct !== undefined) return direct
  const colon = text.indexOf(':')
  if (colon < 0 || text.indexOf(':', colon + 1) >= 0 || !isPort(text, colon + 1)) return undefined
  const host = parseIp(text.slice(0, colon))
  return host?.version === 4 ? host : undefined
}

/** Decimal 0-65535, or an RFC 7239 obfuscated port (`_abc`), from `start` to the end. */
function isPort(text: string, start: number): boolean {
  const length = text.length - start
  if (length < 1) return false
  if (text.charCodeAt(start) === 0x5f /* _ */) {
    if (length < 2) return false
    for (let i = start + 1; i < text.length; i++) {
      if (!isObfuscatedChar(text.charCodeAt(i))) return false
    }
    return true
  }
  if (length > 5) return false
  let value = 0
  for (let i = start; i < text.length; i++) {
    const digit = text.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) return false
    value = value * 10 + digit
  }
  return value <= 65535
}

function isAlphaNumeric(code: number): boolean {
  const lower = code | 0x20
  return (code >= 48 && code <= 57) || (lower >= 97 && lower <= 122)
}

function isObfuscatedChar(code: number): boolean {
  return isAlphaNumeric(code) || code === 0x2e || code === 0x5f || code === 0x2d
}

// RFC 9110 tchar, for parameter names.
function isTokenChar(code: number): boolean {
  if (isAlphaNumeric(code)) return true
  switch (code) {
    case 0x21: // !
    case 0x23: // #
    case 0x24: // $
    case 0x25: // %
    case 0x26: // &
    case 0x27: // '
    case 0x2a: // *
    case 0x2b: // +
    case 0x2d: // -
    case 0x2e: // .
    case 0x5e: // ^
    case 0x5f: // _
    case 0x60: // `
    case 0x7c: // |
    case 0x7e: // ~
      return true
    default:
      return false
  }
}

// Unquoted values are read more loosely than RFC 7239's token: proxies commonly write
// `for=1.2.3.4:80` or `for=[2001:db8::1]` unquoted. The separators `,` `;` `"` still end a
// value, so leniency here cannot shift element boundaries.
function isBareValueChar(code: number): boolean {
  return code > 0x20 && code < 0x7f && code !== COMMA && code !== SEMICOLON && code !== QUOTE
}

/**
 * Reads the quoted-string opening at `at`; returns its unescaped content and the index after
 * the closing quote, or undefined when it never closes.
 */
function readQuoted(text: string, at: number): [string, number] | undefined {
  let value = ''
  let chunkStart = at + 1
  for (let i = at + 1; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code === QUOTE) return [value + text.slice(chunkStart, i), i + 1]
    if (code === BACKSLASH) {
      if (i + 1 >= text.length) return undefined
      value += text.slice(chunkStart, i) + text.charAt(i + 1)
      i++
      chunkStart = i + 1
    }
  }
  return undefined
}

/** Index of the next `,` outside quoted strings from `from`, or the end of `text`. */
function skipToComma(text: string, from: number): number {
  let i = from
  while (i < text.length) {
    const code = text.charCodeAt(i)
    if (code === COMMA) return i
    if (code === QUOTE) {
      const quoted = readQuoted(text, i)
      if (quoted === undefined) return text.length
      i = quoted[1]
    } else {
      i++
    }
  }
  return i
}

/**
 * The `for` value of each RFC 7239 element in one Forwarded line, left to right, in one pass.
 * An element that is malformed, empty, lacks `for` or repeats it yields `undefined`.
 */
function splitForwarded(line: string): (string | undefined)[] {
  const fors: (string | undefined)[] = []
  let i = skipOws(line, 0)
  if (i === line.length) return fors
  for (;;) {
    const [value, next] = readElement(line, i)
    fors.push(value)
    if (next >= line.length) return fors
    i = next + 1 // past the comma
  }
}

/** Reads one element from `start`; returns its `for` value and the index of its ending comma. */
function readElement(line: string, start: number): [string | undefined, number] {
  let forValue: string | undefined
  let forCount = 0
  let i = start
  for (;;) {
    i = skipOws(line, i)
    if (i >= line.length || line.charCodeAt(i) === COMMA) break
    if (line.charCodeAt(i) === SEMICOLON) {
      i++
      continue
    }
    const nameStart = i
    while (i < line.length && isTokenChar(line.charCodeAt(i))) i++
    if (i === nameStart || line.charCodeAt(i) !== EQUALS) return [undefined, skipToComma(line, i)]
    const name = line.slice(nameStart, i)
    i++
    let value: string
    if (line.charCodeAt(i) === QUOTE) {
      const quoted = readQuoted(line, i)
      if (quoted === undefined) return [undefined, line.length]
      ;[value, i] = quoted
    } else {
      const valueStart = i
      while (i < line.length && isBareValueChar(line.charCodeAt(i))) i++
      if (i === valueStart) return [undefined, skipToComma(line, i)]
      value = line.slice(valueStart, i)
    }
    if (name.length === 3 && name.toLowerCase() === 'for') {
      forCount++
      forValue = value
    }
    i = skipOws(line, i)
    const code = line.charCodeAt(i)
    if (i < line.length && code !== COMMA && code !== SEMICOLON) {
      return [undefined, skipToComma(line, i)]
    }
  }
  return [forCount === 1 ? forValue : undefined, i]
}
