import { readFileSync } from 'node:fs'
import { CliError, EXIT_USAGE } from './errors.js'

const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  EMFILE: 'too many open files',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
}

/** Reads a text file (`-` is stdin); a failure becomes one line, e.g. `cannot read x: ENOENT (no such file)`. */
export function readText(file: string): string {
  try {
    const text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8')
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  } catch (error) {
    const code = (error as { code?: unknown }).code
    const shown = file === '-' ? 'stdin' : file
    if (typeof code === 'string') {
      const reason = REASONS[code]
      throw new CliError(`cannot read ${shown}: ${code}${reason ? ` (${reason})` : ''}`, EXIT_USAGE)
    }
    throw new CliError(`cannot read ${shown}: ${(error as Error).message}`, EXIT_USAGE)
  }
}

/**
 * Collected output, written once at the end in the order it was produced (so an exit code
 * never cuts a pipe short). `print` goes to stdout, `warn` to stderr.
 */
export class Out {
  readonly entries: { stream: 'stdout' | 'stderr'; line: string }[] = []
  print(line = ''): void {
    this.entries.push({ stream: 'stdout', line })
  }
  warn(line: string): void {
    this.entries.push({ stream: 'stderr', line })
  }
  /** Writes consecutive lines of one stream in one call. */
  flush(write: (stream: 'stdout' | 'stderr', text: string) => void): void {
    let i = 0
    while (i < this.entries.length) {
      const stream = this.entries[i]!.stream
      let text = ''
      while (i < this.entries.length && this.entries[i]!.stream === stream) {
        text += `${this.entries[i]!.line}\n`
        i++
      }
      write(stream, text)
    }
  }
}

export interface Style {
  readonly enabled: boolean
  bold(s: string): string
  dim(s: string): string
  red(s: string): string
  green(s: string): string
  yellow(s: string): string
  cyan(s: string): string
}

const wrap =
  (enabled: boolean, open: number, close: number) =>
  (s: string): string =>
    enabled && s !== '' ? `\u001b[${open}m${s}\u001b[${close}m` : s

export function makeStyle(enabled: boolean): Style {
  return {
    enabled,
    bold: wrap(enabled, 1, 22),
    dim: wrap(enabled, 2, 22),
    red: wrap(enabled, 31, 39),
    green: wrap(enabled, 32, 39),
    yellow: wrap(enabled, 33, 39),
    cyan: wrap(enabled, 36, 39),
  }
}

/**
 * Colour only on a terminal, never when NO_COLOR is set (https://no-color.org). FORCE_COLOR
 * (non-empty, not `0`) turns it on without a terminal, for tests and CI logs.
 */
export function colorFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  const force = env.FORCE_COLOR
  if (force !== undefined && force !== '' && force !== '0' && force !== 'false') return true
  return stream.isTTY === true
}

/** Pads to a display width (code points, so ✓ and … count as one). */
export function pad(text: string, width: number, visible: string = text): string {
  const length = [...visible].length
  return length >= width ? text : text + ' '.repeat(width - length)
}

export const plural = (n: number, one: string, many = `${one}s`): string =>
  `${n} ${n === 1 ? one : many}`
