import type { CustomRuleConfig, Policy } from './policy-types.js'

/**
 * Identity function that types a policy written in TypeScript, so editors complete rule types
 * and options. Custom rule shapes are a type parameter:
 * `definePolicy<{ type: 'geo'; id: string; countries: string[] }>({ … })`.
 */
export function definePolicy<Custom extends CustomRuleConfig = never>(
  policy: Policy<Custom>,
): Policy<Custom> {
  return policy
}
