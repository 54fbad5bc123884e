// A small JSON scanner that runs beside JSON.parse: it finds where a syntax error is (line and
// column, which Node's JSON.parse messages often omit), where each value sits (so a policy
// problem at /rules/2/limit can name its line), and keys that appear twice in one object
// (JSON.parse silently keeps the last: a reviewer may read the other one).

export interface Location {
  line: number
  column: number
}

export interface DuplicateKey {
  pointer: string
  location: Location
}

export type JsonResult =
  | {
      ok: true
      value: unknown
      /** Where the value at a JSON Pointer (or its nearest ancestor that exists) starts. */
      locate(pointer: string): Location | undefined
      duplicates: DuplicateKey[]
    }
  | { ok: false; message: string; location: Location | undefined }

class ScanError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message)
  }
}

const MAX_DEPTH = 512

/** Parses JSON text like JSON.parse, with locations. */
export function parseJson(text: string): JsonResult {
  let value: unknown
  let parseError: Error | undefined
  try {
    value = JSON.parse(text)
  } catch (error) {
    parseError = error as Error
  }
  const lines = lineStarts(text)
  const where = (offset: number): Location => locationOf(lines, offset)
  const scanner = new Scanner(text)
  try {
    scanner.document()
  } catch (error) {
    if (error instanceof ScanError) {
      if (parseError) return { ok: false, message: error.message, location: where(error.offset) }
      // The scanner is stricter than JSON.parse somewhere: trust JSON.parse, skip locations.
      return { ok: true, value, locate: () => undefined, duplicates: [] }
    }
    // Too deep for the scanner (RangeError): locations are a nicety, not a requirement.
    if (parseError) return { ok: false, message: cleanMessage(parseError), location: undefined }
    return { ok: true, value, locate: () => undefined, duplicates: [] }
  }
  if (parseError) return { ok: false, message: cleanMessage(parseError), location: undefined }
  const offsets = scanner.offsets
  return {
    ok: true,
    value,
    duplicates: scanner.duplicates.map((d) => ({ pointer: d.pointer, location: where(d.offset) })),
    locate(pointer) {
      let p = pointer
      for (;;) {
        const offset = offsets.get(p)
        if (offset !== undefined) return where(offset)
        if (p === '') return undefined
        p = p.slice(0, p.lastIndexOf('/'))
      }
    },
  }
}

function cleanMessage(error: Error): string {
  return error.message.replace(/^JSON\.parse: /, '')
}

function lineStarts(text: string): number[] {
  const starts = [0]
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1)
  return starts
}

function locationOf(starts: number[], offset: number): Location {
  let lo = 0
  let hi = starts.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (starts[mid]! <= offset) lo = mid
    else hi = mid - 1
  }
  return { line: lo + 1, column: offset - starts[lo]! + 1 }
}

const escapePointer = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1')

function describeChar(c: string | undefined): string {
  if (c === undefined) return 'end of file'
  const code = c.charCodeAt(0)
  if (code < 0x20 || code === 0x7f) return `character U+${code.toString(16).padStart(4, '0')}`
  return `'${c}'`
}

class Scanner {
  readonly offsets = new Map<string, number>()
  readonly duplicates: { pointer: string; offset: number }[] = []
  private i = 0

  constructor(private readonly text: string) {}

  document(): void {
    this.ws()
    this.value('', 0)
    this.ws()
    if (this.i < this.text.length) {
      throw new ScanError(
        `unexpected ${describeChar(this.text[this.i])} after the end of the JSON value`,
        this.i,
      )
    }
  }

  private ws(): void {
    const t = this.text
    for (;;) {
      const c = t.charCodeAt(this.i)
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++
      else if (c === 0x2f && (t[this.i + 1] === '/' || t[this.i + 1] === '*')) {
        throw new ScanError('comments are not allowed in JSON', this.i)
      } else return
    }
  }

  private value(pointer: string, depth: number): void {
    if (depth > MAX_DEPTH) throw new RangeError('too deep')
    const t = this.text
    const c = t[this.i]
    if (!this.offsets.has(pointer)) this.offsets.set(pointer, this.i)
    if (c === '{') return this.object(pointer, depth)
    if (c === '[') return this.array(pointer, depth)
    if (c === '"') {
      this.string()
      return
    }
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number()
    for (const word of ['true', 'false', 'null']) {
      if (t.startsWith(word, this.i)) {
        this.i += word.length
        return
      }
    }
    if (c === "'") throw new ScanError('strings must use double quotes', this.i)
    if (c === undefined) throw new ScanError('unexpected end of file: a value is missing', this.i)
    throw new ScanError(`unexpected ${describeChar(c)}: expected a value`, this.i)
  }

  private object(pointer: string, depth: number): void {
    const t = this.text
    this.i++ // {
    this.ws()
    if (t[this.i] === '}') {
      this.i++
      return
    }
    const seen = new Set<string>()
    for (;;) {
      this.ws()
      if (t[this.i] === '}') throw new ScanError("trailing comma before '}'", this.i)
      if (t[this.i] !== '"') {
        if (t[this.i] === undefined)
          throw new ScanError("unexpected end of file: missing '}'", this.i)
        throw new ScanError(
          `unexpected ${describeChar(t[this.i])}: property names must be double-quoted strings`,
          this.i,
        )
      }
      const keyStart = this.i
      const key = this.string()
      const child = `${pointer}/${escapePointer(key)}`
      if (seen.has(key)) this.duplicates.push({ pointer: child, offset: keyStart })
      seen.add(key)
      this.offsets.set(child, keyStart)
      this.ws()
      if (t[this.i] !== ':') {
        throw new ScanError(
          `expected ':' after property name ${JSON.stringify(key)}, got ${describeChar(t[this.i])}`,
          this.i,
        )
      }
      this.i++
      this.ws()
      this.value(child, depth + 1)
      this.ws()
      const next = t[this.i]
      if (next === ',') {
        this.i++
        continue
      }
      if (next === '}') {
        this.i++
        return
      }
      if (next === undefined) throw new ScanError("unexpected end of file: missing '}'", this.i)
      throw new ScanError(
        `expected ',' or '}' after the value of ${JSON.stringify(key)}, got ${describeChar(next)}`,
        this.i,
      )
    }
  }

  private array(pointer: string, depth: number): void {
    const t = this.text
    this.i++ // [
    this.ws()
    if (t[this.i] === ']') {
      this.i++
      return
    }
    for (let index = 0; ; index++) {
      this.ws()
      if (t[this.i] === ']') throw new ScanError("trailing comma before ']'", this.i)
      this.value(`${pointer}/${index}`, depth + 1)
      this.ws()
      const next = t[this.i]
      if (next === ',') {
        this.i++
        continue
      }
      if (next === ']') {
        this.i++
        return
      }
      if (next === undefined) throw new ScanError("unexpected end of file: missing ']'", this.i)
      throw new ScanError(
        `expected ',' or ']' after an array item, got ${describeChar(next)}`,
        this.i,
      )
    }
  }

  /** Scans a string starting at the opening quote; returns its value. */
  private string(): string {
    const t = this.text
    const start = this.i
    this.i++
    let out = ''
    for (;;) {
      const c = t[this.i]
      if (c === undefined) throw new ScanError('unterminated string', start)
      if (c === '"') {
        this.i++
        return out
      }
      const code = c.charCodeAt(0)
      if (code < 0x20) {
        throw new ScanError(
          code === 0x0a
            ? 'unterminated string (a line break inside a string must be written \\n)'
            : `${describeChar(c)} inside a string must be escaped`,
          this.i,
        )
      }
      if (c === '\\') {
        const e = t[this.i + 1]
        const simple: Record<string, string> = {
          '"': '"',
          '\\': '\\',
          '/': '/',
          b: '\b',
          f: '\f',
          n: '\n',
          r: '\r',
          t: '\t',
        }
        if (e !== undefined && e in simple) {
          out += simple[e]
          this.i += 2
          continue
        }
        if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(t.slice(this.i + 2, this.i + 6))) {
          out += String.fromCharCode(parseInt(t.slice(this.i + 2, this.i + 6), 16))
          this.i += 6
          continue
        }
        throw new ScanError(`invalid escape \\${e ?? ''} in a string`, this.i)
      }
      out += c
      this.i++
    }
  }

  private number(): void {
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(
      this.text.slice(this.i, this.i + 400),
    )
    if (!m) throw new ScanError('invalid number', this.i)
    this.i += m[0].length
    const next = this.text[this.i]
    if (next !== undefined && /[0-9A-Za-z.]/.test(next)) {
      throw new ScanError(`invalid number (unexpected ${describeChar(next)})`, this.i)
    }
  }
}
