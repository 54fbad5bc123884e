// The demo's custom rule: deny clients whose country (as a CDN in front would set it, in
// `cf-ipcountry` or `x-country`) is listed. Registered by type name; the policy stays data.
import { defineRule } from '@sec/core'

export const countryBlock = defineRule({
  validate(rule) {
    const ok =
      Array.isArray(rule.countries) &&
      rule.countries.every((c) => typeof c === 'string' && /^[A-Z]{2}$/.test(c))
    return ok ? [] : [{ path: '/countries', message: 'must be a list of two-letter country codes' }]
  },
  evaluate(req, rule) {
    const country = (req.header('cf-ipcountry') ?? req.header('x-country') ?? '').toUpperCase()
    if (!rule.countries.includes(country)) return undefined
    return {
      action: 'deny',
      status: 451,
      code: 'country.blocked',
      message: 'Not available in your country.',
    }
  },
})
