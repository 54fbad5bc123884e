import type { CidrRange, IpAddress } from './ip-address.js'
import { maskWord } from './ip-address.js'

// Policies may list 100,000+ ranges (blocklists), and `has` runs on every request. Ranges are
// merged into disjoint, sorted [start, end] intervals held in typed arrays, so a lookup is one
// binary search with no allocation.

const TWO_32 = 0x100000000

/** An immutable set of addresses built from CIDR ranges. */
export class IpSet {
  /** Number of disjoint intervals left after merging overlapping and adjacent ranges. */
  readonly size: number
  readonly #v4Starts: Uint32Array
  readonly #v4Ends: Uint32Array
  // Four words per interval, most significant first.
  readonly #v6Starts: Uint32Array
  readonly #v6Ends: Uint32Array

  /** Ranges that are malformed (bad prefix, non-integer words) are skipped. */
  constructor(ranges: readonly CidrRange[]) {
    const list = Array.isArray(ranges) ? ranges : []
    const [v4Starts, v4Ends] = buildV4(list)
    const [v6Starts, v6Ends] = buildV6(list)
    this.#v4Starts = v4Starts
    this.#v4Ends = v4Ends
    this.#v6Starts = v6Starts
    this.#v6Ends = v6Ends
    this.size = v4Starts.length + v6Starts.length / 4
  }

  has(ip: IpAddress): boolean {
    if (ip.version === 4) return hasV4(this.#v4Starts, this.#v4Ends, ip.value)
    return hasV6(this.#v6Starts, this.#v6Ends, ip.w0, ip.w1, ip.w2, ip.w3)
  }
}

function isWord(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < TWO_32
}

function isPrefix(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max
}

function hasV4(starts: Uint32Array, ends: Uint32Array, value: number): boolean {
  // Index of the last interval starting at or before `value`.
  let low = 0
  let high = starts.length - 1
  let found = -1
  while (low <= high) {
    const mid = (low + high) >>> 1
    if ((starts[mid] as number) <= value) {
      found = mid
      low = mid + 1
    } else {
      high = mid - 1
    }
  }
  return found >= 0 && value <= (ends[found] as number)
}

function buildV4(ranges: readonly CidrRange[]): [Uint32Array, Uint32Array] {
  // A CIDR's start fits 32 bits and its prefix 6, so `start * 64 + prefix` is an exact double
  // and a native typed-array sort orders ranges by start without a comparator.
  const keys = new Float64Array(ranges.length)
  let count = 0
  for (const range of ranges) {
    const network = range?.network
    if (network?.version !== 4 || !isWord(network.value) || !isPrefix(range.prefix, 32)) continue
    const start = (network.value & maskWord(range.prefix)) >>> 0
    keys[count++] = start * 64 + range.prefix
  }
  const sorted = keys.subarray(0, count).sort()
  const starts = new Uint32Array(count)
  const ends = new Uint32Array(count)
  let merged = 0
  let currentEnd = -1
  for (const key of sorted) {
    const prefix = key % 64
    const start = (key - prefix) / 64
    const end = start + 2 ** (32 - prefix) - 1
    if (merged > 0 && start <= currentEnd + 1) {
      if (end > currentEnd) {
        currentEnd = end
        ends[merged - 1] = end
      }
      continue
    }
    starts[merged] = start
    ends[merged] = end
    currentEnd = end
    merged++
  }
  return [starts.slice(0, merged), ends.slice(0, merged)]
}

/** Compares the 128-bit values at word offsets `i` of `a` and `j` of `b`. */
function compare128(a: Uint32Array, i: number, b: Uint32Array, j: number): number {
  for (let k = 0; k < 4; k++) {
    const x = a[i + k] as number
    const y = b[j + k] as number
    if (x !== y) return x < y ? -1 : 1
  }
  return 0
}

/** True when the value at `startAt` of `starts` is at most one past the value at `endAt`. */
function touches(starts: Uint32Array, startAt: number, ends: Uint32Array, endAt: number): boolean {
  if (compare128(starts, startAt, ends, endAt) <= 0) return true
  // start > end here; they touch only when start === end + 1, computed with carry.
  let carry = 1
  for (let k = 3; k >= 0; k--) {
    const sum = (ends[endAt + k] as number) + carry
    carry = sum === TWO_32 ? 1 : 0
    if (sum % TWO_32 !== starts[startAt + k]) return false
  }
  return carry === 0
}

function pushWord(starts: number[], ends: number[], word: number, mask: number): void {
  starts.push((word & mask) >>> 0)
  ends.push((word | ~mask) >>> 0)
}

function buildV6(ranges: readonly CidrRange[]): [Uint32Array, Uint32Array] {
  const rawStarts: number[] = []
  const rawEnds: number[] = []
  for (const range of ranges) {
    const n = range?.network
    if (n?.version !== 6 || !isPrefix(range.prefix, 128)) continue
    if (!isWord(n.w0) || !isWord(n.w1) || !isWord(n.w2) || !isWord(n.w3)) continue
    pushWord(rawStarts, rawEnds, n.w0, maskWord(range.prefix))
    pushWord(rawStarts, rawEnds, n.w1, maskWord(range.prefix - 32))
    pushWord(rawStarts, rawEnds, n.w2, maskWord(range.prefix - 64))
    pushWord(rawStarts, rawEnds, n.w3, maskWord(range.prefix - 96))
  }
  const count = rawStarts.length / 4
  const inStarts = Uint32Array.from(rawStarts)
  const inEnds = Uint32Array.from(rawEnds)
  const order = Array.from({ length: count }, (_, index) => index)
  order.sort((x, y) => compare128(inStarts, x * 4, inStarts, y * 4))
  const starts = new Uint32Array(count * 4)
  const ends = new Uint32Array(count * 4)
  let merged = 0
  for (const index of order) {
    const from = index * 4
    const last = (merged - 1) * 4
    if (merged > 0 && touches(inStarts, from, ends, last)) {
      if (compare128(inEnds, from, ends, last) > 0) ends.set(inEnds.subarray(from, from + 4), last)
      continue
    }
    starts.set(inStarts.subarray(from, from + 4), merged * 4)
    ends.set(inEnds.subarray(from, from + 4), merged * 4)
    merged++
  }
  return [starts.slice(0, merged * 4), ends.slice(0, merged * 4)]
}

function hasV6(
  starts: Uint32Array,
  ends: Uint32Array,
  w0: number,
  w1: number,
  w2: number,
  w3: number,
): boolean {
  let low = 0
  let high = starts.length / 4 - 1
  let found = -1
  while (low <= high) {
    const mid = (low + high) >>> 1
    if (compareWords(starts, mid * 4, w0, w1, w2, w3) <= 0) {
      found = mid
      low = mid + 1
    } else {
      high = mid - 1
    }
  }
  return found >= 0 && compareWords(ends, found * 4, w0, w1, w2, w3) >= 0
}

/** Compares the 128-bit value at word offset `i` of `a` with (w0, w1, w2, w3). */
function compareWords(
  a: Uint32Array,
  i: number,
  w0: number,
  w1: number,
  w2: number,
  w3: number,
): number {
  const x0 = a[i] as number
  if (x0 !== w0) return x0 < w0 ? -1 : 1
  const x1 = a[i + 1] as number
  if (x1 !== w1) return x1 < w1 ? -1 : 1
  const x2 = a[i + 2] as number
  if (x2 !== w2) return x2 < w2 ? -1 : 1
  const x3 = a[i + 3] as number
  if (x3 !== w3) return x3 < w3 ? -1 : 1
  return 0
}
