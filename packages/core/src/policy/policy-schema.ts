import { s, toJsonSchema, type SchemaNode } from './schema-dsl.js'
import { apiKeyRuleSchema } from '../rules/api-key-rule.js'
import { headerRuleSchema } from '../rules/header-rule.js'
import { ipRuleSchema } from '../rules/ip-rule.js'
import { pathRuleSchema } from '../rules/path-rule.js'
import { rateLimitRuleSchema } from '../rules/rate-limit-rule.js'
import { baseProperties, MAX_LIST_ITEMS } from '../rules/rule-base.js'
import { userAgentRuleSchema } from '../rules/user-agent-rule.js'

export const BUILT_IN_RULE_TYPES = [
  'ip',
  'userAgent',
  'path',
  'header',
  'apiKey',
  'rateLimit',
] as const

const customRuleSchema = s.object(
  {
    ...baseProperties('custom'),
    type: s.req(
      s.string({
        minLength: 1,
        maxLength: 64,
        description: 'A custom rule type registered in createEngine({ rules }).',
      }),
    ),
  },
  {
    additional: s.any(),
    description: 'A custom rule: its type is registered in createEngine({ rules }).',
  },
)

export const ruleSchema: SchemaNode = s.tagged(
  'type',
  {
    ip: s.ref('ipRule', ipRuleSchema),
    userAgent: s.ref('userAgentRule', userAgentRuleSchema),
    path: s.ref('pathRule', pathRuleSchema),
    header: s.ref('headerRule', headerRuleSchema),
    apiKey: s.ref('apiKeyRule', apiKeyRuleSchema),
    rateLimit: s.ref('rateLimitRule', rateLimitRuleSchema),
  },
  s.ref('customRule', customRuleSchema),
  'One rule. Rules run in order; an allow ends evaluation, a deny ends it with a denial.',
)

export const policySchema: SchemaNode = s.object(
  {
    $schema: s.opt(
      s.string({ maxLength: 2048, description: 'Path or URL of this JSON Schema, for editors.' }),
    ),
    version: s.req(s.const(1, 'Policy format version.')),
    clientIp: s.opt(
      s.object(
        {
          trustProxy: s.opt(
            s.anyOf(
              [
                s.boolean(),
                s.integer({ minimum: 0, maximum: 64 }),
                s.array(s.string({ minLength: 1, maxLength: 64 }), { maxItems: MAX_LIST_ITEMS }),
              ],
              'must be true, false, a hop count (0-64) or a list of addresses, CIDRs and keywords (loopback, private, linklocal)',
              'Which socket peers may speak for others through the forwarding header. Default: none.',
            ),
          ),
          header: s.opt(
            s.string({
              enum: ['x-forwarded-for', 'forwarded'],
              description: 'The one forwarding header to read. Default x-forwarded-for.',
            }),
          ),
          ipv6Subnet: s.opt(
            s.integer({
              minimum: 1,
              maximum: 128,
              description: 'IPv6 clients are grouped by this prefix length. Default 64.',
            }),
          ),
        },
        { description: 'How the client address is found.' },
      ),
    ),
    log: s.opt(
      s.string({
        enum: ['all', 'denied', 'none'],
        description: 'Which decisions reach onDecision. Default all.',
      }),
    ),
    rules: s.req(
      s.array(ruleSchema, { maxItems: 10_000, description: 'Rules, evaluated in order.' }),
    ),
  },
  { description: 'A sec security policy.' },
)

/** The policy's JSON Schema (draft 2020-12), as shipped in `@sec/core/policy.schema.json`. */
export function policyJsonSchema(): Record<string, unknown> {
  const defs: Record<string, unknown> = {}
  const root = toJsonSchema(policySchema, defs)
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'sec policy',
    ...root,
    $defs: defs,
  }
}
