import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { CustomRule } from '@sec/core'
import { CliError, EXIT_USAGE } from './errors.js'
import { describeCustom, type CustomRuleRef } from './policy-file.js'

const isRule = (value: unknown): value is CustomRule =>
  value !== null &&
  typeof value === 'object' &&
  typeof (value as CustomRule).evaluate === 'function'

/**
 * Loads custom rule types from the app's own module (`--rules ./rules.mjs`): its named exports
 * that are rules (`export const countryBlock = defineRule(…)`), and a default export mapping
 * type names to rules. The export name is the rule type.
 */
export async function loadCustomRules(
  file: string | undefined,
  command: string,
): Promise<Record<string, CustomRule>> {
  if (file === undefined) return {}
  let mod: Record<string, unknown>
  try {
    mod = (await import(pathToFileURL(resolve(file)).href)) as Record<string, unknown>
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error)
    throw new CliError(`${command}: cannot load rules from ${file}: ${reason}`, EXIT_USAGE)
  }
  const rules: Record<string, CustomRule> = {}
  const fromDefault = mod.default
  if (fromDefault !== null && typeof fromDefault === 'object' && !isRule(fromDefault)) {
    for (const [type, rule] of Object.entries(fromDefault)) if (isRule(rule)) rules[type] = rule
  }
  for (const [name, value] of Object.entries(mod))
    if (name !== 'default' && isRule(value)) rules[name] = value
  if (Object.keys(rules).length === 0) {
    throw new CliError(
      `${command}: ${file} exports no custom rule (an object with evaluate)`,
      EXIT_USAGE,
    )
  }
  return rules
}

/** Refuses to run a policy whose custom rule types are not all loaded. */
export function requireRules(
  custom: CustomRuleRef[],
  rules: Record<string, CustomRule>,
  command: string,
): void {
  const missing = custom.filter((c) => rules[c.type] === undefined)
  if (missing.length > 0) {
    throw new CliError(
      `${command}: cannot run custom rule types ${describeCustom(missing)}: load their code with --rules <module> (named exports, the export name being the type)`,
      EXIT_USAGE,
    )
  }
}
