import { parseArgs, type ParseArgsConfig } from 'node:util'
import { usage } from './errors.js'

export type OptionSpec = NonNullable<ParseArgsConfig['options']>

export interface Parsed {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>
  positionals: string[]
}

/**
 * parseArgs (strict) with errors rewritten as one short line that names the option and never
 * echoes a value (an option value may be a secret).
 */
export function parse(command: string, args: readonly string[], options: OptionSpec): Parsed {
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { help: { type: 'boolean', short: 'h' }, ...options },
      allowPositionals: true,
      strict: true,
    })
    return { values: values as Parsed['values'], positionals }
  } catch (error) {
    const code = (error as { code?: unknown }).code
    const message = (error as Error).message
    const name = /'(-{1,2}[^'=\s,]*)/.exec(message)?.[1] ?? 'an option'
    const see = `(see sec ${command} --help)`
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      throw usage(`${command}: unknown option ${name} ${see}`)
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const long = optionName(name, options)
      if (/does not take an argument/.test(message)) {
        throw usage(`${command}: option ${long} takes no value ${see}`)
      }
      throw usage(`${command}: option ${long} needs a value ${see}`)
    }
    throw usage(`${command}: invalid arguments ${see}`)
  }
}

/** `-H` → `-H/--header`, for messages. */
function optionName(name: string, options: OptionSpec): string {
  if (name.startsWith('--')) return name
  const short = name.slice(1)
  for (const [long, spec] of Object.entries(options)) {
    if (spec.short === short) return `-${short}/--${long}`
  }
  return name
}

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
export const strs = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []
