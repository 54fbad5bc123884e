// IP addresses and CIDR ranges without BigInt or runtime APIs. Parsing is hand-written and
// single-pass: no regex (no backtracking), and bad input yields `undefined`, never a throw.

/** An IPv4 address as an unsigned 32-bit integer (`192.0.2.1` is `0xc0000201`). */
export interface Ipv4Address {
  readonly version: 4
  readonly value: number
}

/**
 * An IPv6 address as four unsigned 32-bit words, `w0` the most significant. Never an
 * IPv4-mapped address: those parse to their {@link Ipv4Address}.
 */
export interface Ipv6Address {
  readonly version: 6
  readonly w0: number
  readonly w1: number
  readonly w2: number
  readonly w3: number
}

/** A parsed address; switch on `version`. */
export type IpAddress = Ipv4Address | Ipv6Address

/**
 * A network: `network` has every host bit cleared and `prefix` counts the fixed leading bits
 * (0-32 for IPv4, 0-128 for IPv6).
 */
export interface CidrRange {
  readonly network: IpAddress
  readonly prefix: number
}

// Longest legitimate text is ~45 characters plus a zone id; anything longer is garbage and
// should cost nothing to reject.
const MAX_ADDRESS_LENGTH = 100
const MAX_CIDR_LENGTH = MAX_ADDRESS_LENGTH + 4

const DOT = 0x2e
const COLON = 0x3a

type Words = [number, number, number, number]

/**
 * Parses one address, strictly. IPv4 is four decimal octets without leading zeros; IPv6 is any
 * RFC 4291 text form, with an optional zone id (`%eth0`) that is ignored. IPv4-mapped IPv6
 * (`::ffff:192.0.2.1`, `::ffff:c000:201`) returns the IPv4 address. No whitespace, brackets or
 * ports: callers strip those.
 */
export function parseIp(text: string): IpAddress | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_ADDRESS_LENGTH) {
    return undefined
  }
  if (text.indexOf(':') < 0) {
    const value = parseV4(text, 0, text.length)
    return value < 0 ? undefined : { version: 4, value }
  }
  const words = parseV6(text, true)
  return words === undefined ? undefined : fromWords(words)
}

/** Returns the uint32 value of strict dotted decimal in `text[start, end)`, or -1. */
function parseV4(text: string, start: number, end: number): number {
  let value = 0
  let i = start
  for (let octets = 1; ; octets++) {
    const first = i
    let octet = 0
    while (i < end && i - first < 3) {
      const digit = text.charCodeAt(i) - 48
      if (digit < 0 || digit > 9) break
      octet = octet * 10 + digit
      i++
    }
    const length = i - first
    if (length === 0 || octet > 255 || (length > 1 && text.charCodeAt(first) === 48)) return -1
    value = value * 256 + octet
    if (octets === 4) return i === end ? value : -1
    if (i >= end || text.charCodeAt(i) !== DOT) return -1
    i++
  }
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48
  const lower = code | 0x20
  if (lower >= 97 && lower <= 102) return lower - 87
  return -1
}

// RFC 6874 limits zone ids to unreserved characters, which covers real interface names
// (eth0, en0, wlp3s0, br-1a2b) and Windows' numeric zones.
function isZoneChar(code: number): boolean {
  return (
    (code >= 48 && code <= 57) ||
    ((code | 0x20) >= 97 && (code | 0x20) <= 122) ||
    code === 0x2d ||
    code === DOT ||
    code === 0x5f ||
    code === 0x7e
  )
}

function isValidZone(text: string, start: number): boolean {
  if (start >= text.length) return false
  for (let i = start; i < text.length; i++) {
    if (!isZoneChar(text.charCodeAt(i))) return false
  }
  return true
}

/** Parses RFC 4291 text (`::` compression, IPv4 tail) into four words, or undefined. */
function parseV6(text: string, allowZone: boolean): Words | undefined {
  let end = text.length
  const percent = text.indexOf('%')
  if (percent >= 0) {
    if (!allowZone || !isValidZone(text, percent + 1)) return undefined
    end = percent
  }
  const groups: number[] = []
  let compressAt = -1
  let i = 0
  if (end >= 2 && text.charCodeAt(0) === COLON) {
    if (text.charCodeAt(1) !== COLON) return undefined
    compressAt = 0
    i = 2
  }
  while (i < end) {
    const start = i
    let group = 0
    while (i < end && i - start < 4) {
      const digit = hexValue(text.charCodeAt(i))
      if (digit < 0) break
      group = group * 16 + digit
      i++
    }
    if (i < end && text.charCodeAt(i) === DOT) {
      // A dotted tail is two groups and must end the address.
      if (groups.length > 6) return undefined
      const v4 = parseV4(text, start, end)
      if (v4 < 0) return undefined
      groups.push(Math.floor(v4 / 0x10000), v4 % 0x10000)
      break
    }
    if (i === start || groups.length === 8) return undefined
    groups.push(group)
    if (i === end) break
    if (text.charCodeAt(i) !== COLON) return undefined
    i++
    if (i === end) return undefined
    if (text.charCodeAt(i) === COLON) {
      if (compressAt >= 0) return undefined
      compressAt = groups.length
      i++
    }
  }
  if (compressAt < 0 ? groups.length !== 8 : groups.length > 7) return undefined
  const full = new Array<number>(8).fill(0)
  const tail = groups.length - Math.max(compressAt, 0)
  for (let g = 0; g < groups.length; g++) {
    const at = compressAt >= 0 && g >= compressAt ? 8 - tail + (g - compressAt) : g
    full[at] = groups[g] ?? 0
  }
  return [
    pair(full[0], full[1]),
    pair(full[2], full[3]),
    pair(full[4], full[5]),
    pair(full[6], full[7]),
  ]
}

function pair(high: number | undefined, low: number | undefined): number {
  return (high ?? 0) * 0x10000 + (low ?? 0)
}

function isMapped(words: Words): boolean {
  return words[0] === 0 && words[1] === 0 && words[2] === 0xffff
}

function fromWords(words: Words): IpAddress {
  if (isMapped(words)) return { version: 4, value: words[3] }
  return { version: 6, w0: words[0], w1: words[1], w2: words[2], w3: words[3] }
}

/** Dotted decimal for IPv4; RFC 5952 for IPv6 (lowercase, longest zero run as `::`). */
export function formatIp(ip: IpAddress): string {
  if (ip.version === 4) return formatV4(ip.value)
  const groups = [
    ip.w0 >>> 16,
    ip.w0 & 0xffff,
    ip.w1 >>> 16,
    ip.w1 & 0xffff,
    ip.w2 >>> 16,
    ip.w2 & 0xffff,
    ip.w3 >>> 16,
    ip.w3 & 0xffff,
  ]
  const [runStart, runLength] = longestZeroRun(groups)
  if (runLength < 2) return groups.map(hex).join(':')
  const head = groups.slice(0, runStart).map(hex).join(':')
  const rest = groups
    .slice(runStart + runLength)
    .map(hex)
    .join(':')
  return `${head}::${rest}`
}

function hex(group: number): string {
  return group.toString(16)
}

function formatV4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`
}

/** Leftmost longest run of zero groups, as [start, length]. */
function longestZeroRun(groups: readonly number[]): [number, number] {
  let bestStart = 0
  let bestLength = 0
  let runStart = 0
  for (let g = 0; g <= groups.length; g++) {
    if (g < groups.length && groups[g] === 0) continue
    if (g - runStart > bestLength) {
      bestStart = runStart
      bestLength = g - runStart
    }
    runStart = g + 1
  }
  return [bestStart, bestLength]
}

/** The leading `bits` of a 32-bit word set; `bits` outside 0-32 saturates. */
export function maskWord(bits: number): number {
  if (bits <= 0) return 0
  if (bits >= 32) return 0xffffffff
  return (0xffffffff << (32 - bits)) >>> 0
}

/** `ip` with every bit after the first `prefix` cleared. */
export function maskIp(ip: IpAddress, prefix: number): IpAddress {
  if (ip.version === 4) return { version: 4, value: (ip.value & maskWord(prefix)) >>> 0 }
  return {
    version: 6,
    w0: (ip.w0 & maskWord(prefix)) >>> 0,
    w1: (ip.w1 & maskWord(prefix - 32)) >>> 0,
    w2: (ip.w2 & maskWord(prefix - 64)) >>> 0,
    w3: (ip.w3 & maskWord(prefix - 96)) >>> 0,
  }
}

/** Decimal 0-`max` with no sign and no leading zero, or -1. */
function parsePrefix(text: string, start: number, max: number): number {
  const length = text.length - start
  if (length < 1 || length > 3 || (length > 1 && text.charCodeAt(start) === 48)) return -1
  let value = 0
  for (let i = start; i < text.length; i++) {
    const digit = text.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) return -1
    value = value * 10 + digit
  }
  return value <= max ? value : -1
}

/**
 * Parses `a.b.c.d/n`, `v6/n` or a bare address (one host). Host bits are cleared. An
 * IPv4-mapped IPv6 range of /96 or longer becomes the IPv4 range; a shorter IPv6 prefix stays
 * an IPv6 range and never matches IPv4 clients. Zone ids are refused: they name an interface
 * on one machine and mean nothing in a policy.
 */
export function parseCidr(text: string): CidrRange | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_CIDR_LENGTH) {
    return undefined
  }
  const slash = text.indexOf('/')
  const address = slash < 0 ? text : text.slice(0, slash)
  if (address.length === 0 || address.length > MAX_ADDRESS_LENGTH) return undefined
  if (address.indexOf(':') < 0) {
    const value = parseV4(address, 0, address.length)
    const prefix = slash < 0 ? 32 : parsePrefix(text, slash + 1, 32)
    if (value < 0 || prefix < 0) return undefined
    return { network: maskIp({ version: 4, value }, prefix), prefix }
  }
  if (address.indexOf('%') >= 0) return undefined
  const words = parseV6(address, false)
  const prefix = slash < 0 ? 128 : parsePrefix(text, slash + 1, 128)
  if (words === undefined || prefix < 0) return undefined
  if (prefix >= 96 && isMapped(words)) {
    return { network: maskIp({ version: 4, value: words[3] }, prefix - 96), prefix: prefix - 96 }
  }
  const network: Ipv6Address = {
    version: 6,
    w0: words[0],
    w1: words[1],
    w2: words[2],
    w3: words[3],
  }
  return { network: maskIp(network, prefix), prefix }
}

/** True when `ip` lies in `range` (an IPv4 address is never in an IPv6 range). */
export function cidrContains(range: CidrRange, ip: IpAddress): boolean {
  const network = range.network
  if (network.version !== ip.version) return false
  const masked = maskIp(ip, range.prefix)
  if (masked.version === 4 || network.version === 4) {
    return masked.version === 4 && network.version === 4 && masked.value === network.value
  }
  return (
    masked.w0 === network.w0 &&
    masked.w1 === network.w1 &&
    masked.w2 === network.w2 &&
    masked.w3 === network.w3
  )
}

/** `network/prefix` in canonical text. */
export function formatCidr(range: CidrRange): string {
  return `${formatIp(range.network)}/${range.prefix}`
}

/** Names that stand for well-known ranges wherever a policy takes a list of addresses. */
export const IP_KEYWORDS = ['loopback', 'private', 'linklocal'] as const

export type IpKeyword = (typeof IP_KEYWORDS)[number]

const KEYWORD_RANGES: Readonly<Record<IpKeyword, readonly string[]>> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  // 100.64.0.0/10 (CGNAT) is deliberately absent: it holds many unrelated subscribers, and
  // trusting it as "private" would let any of them speak for others.
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
}

const KEYWORD_CACHE = new Map<string, readonly CidrRange[]>()
for (const name of IP_KEYWORDS) {
  const ranges: CidrRange[] = []
  for (const text of KEYWORD_RANGES[name]) {
    const range = parseCidr(text)
    if (range !== undefined) {
      ranges.push(Object.freeze({ network: Object.freeze(range.network), prefix: range.prefix }))
    }
  }
  KEYWORD_CACHE.set(name, ranges)
}

/** The ranges a keyword stands for (exact lowercase name), or undefined for any other text. */
export function expandIpKeyword(name: string): CidrRange[] | undefined {
  // A Map lookup, not an object index, so `__proto__` or `toString` cannot match.
  const ranges = KEYWORD_CACHE.get(name)
  return ranges === undefined ? undefined : [...ranges]
}

/** A policy list entry: a keyword, a CIDR or a bare address. Undefined when it is none. */
export function parseIpEntry(text: string): CidrRange[] | undefined {
  const keyword = expandIpKeyword(text)
  if (keyword !== undefined) return keyword
  const range = parseCidr(text)
  return range === undefined ? undefined : [range]
}

const DEFAULT_IPV6_SUBNET = 64

/**
 * The identity a rate limiter counts: the IPv4 address itself, or the IPv6 network of
 * `ipv6Subnet` bits (`2001:db8:1:2::/64`), since one IPv6 client usually owns a whole /64 and
 * could otherwise rotate addresses to escape its limit. A subnet that is not an integer 0-128
 * falls back to 64.
 */
export function subnetKey(ip: IpAddress, ipv6Subnet: number): string {
  if (ip.version === 4) return formatV4(ip.value)
  const bits =
    Number.isInteger(ipv6Subnet) && ipv6Subnet >= 0 && ipv6Subnet <= 128
      ? ipv6Subnet
      : DEFAULT_IPV6_SUBNET
  if (bits === 128) return formatIp(ip)
  return `${formatIp(maskIp(ip, bits))}/${bits}`
}
