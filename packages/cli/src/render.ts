import { escapeControl, type Decision, type RuleResult, type RateLimitInfo } from '@sec/core'
import { pad, type Style } from './io.js'

export function rateLimitText(info: RateLimitInfo): string {
  let text = `limit ${info.limit}/${seconds(info.windowSeconds)}, ${info.remaining} left, resets in ${seconds(info.resetSeconds)}`
  if (info.retryAfterSeconds !== undefined)
    text += `, retry after ${seconds(info.retryAfterSeconds)}`
  return text
}

function seconds(s: number): string {
  if (s >= 3600 && s % 3600 === 0) return `${s / 3600}h`
  if (s >= 60 && s % 60 === 0) return `${s / 60}m`
  return `${s}s`
}

interface PolicyRule {
  id: string
  type: string
  mode?: string
}

const OUTCOME_WIDTH = 7

function outcomeLabel(r: RuleResult | undefined, style: Style): [string, string] {
  if (r === undefined) return ['-', style.dim('-')]
  const text = r.outcome
  switch (r.outcome) {
    case 'deny':
      return r.monitor ? [text, style.yellow(text)] : [text, style.red(text)]
    case 'error':
      return [text, style.red(text)]
    case 'allow':
      return [text, style.green(text)]
    case 'pass':
      return [text, text]
    default:
      return [text, style.dim(text)]
  }
}

function ruleDetail(r: RuleResult | undefined, rule: PolicyRule): string {
  if (r === undefined) return 'not reached'
  const parts: string[] = []
  if (r.outcome === 'skip') parts.push('paths/methods do not select this request')
  if (r.outcome === 'deny' || r.outcome === 'error') {
    parts.push([r.status, r.code].filter((x) => x !== undefined).join(' '))
  }
  if (r.outcome === 'allow') parts.push('exemption: evaluation ends, request allowed')
  if (r.monitor) {
    parts.push(r.outcome === 'deny' ? 'monitor: would deny, not enforced' : 'monitor')
  } else if (rule.mode === 'monitor') parts.push('monitor')
  if (r.rateLimit) parts.push(rateLimitText(r.rateLimit))
  if (r.outcome === 'error' && r.message) parts.push(r.message)
  return parts.filter((p) => p !== '').join('; ')
}

export interface ExplainView {
  method: string
  /** URL as shown (secrets masked). */
  url: string
  /** Canonical path, when the target could be canonicalised. */
  canonicalPath: string | undefined
  headerNames: string[]
  context: Record<string, string>
  repeat: number
}

/** The Decision and its trace, for a person. */
export function renderDecision(
  decision: Decision,
  rules: readonly PolicyRule[],
  view: ExplainView,
  style: Style,
): string[] {
  const lines: string[] = []
  const shownUrl = escapeControl(view.url, 2048)
  lines.push(`${style.bold('request')}   ${view.method} ${shownUrl}`)
  if (view.canonicalPath !== undefined && view.canonicalPath !== view.url) {
    // Already escaped: it comes from the DecisionEvent.
    lines.push(`          canonical path ${view.canonicalPath}`)
  }
  lines.push(
    `          headers: ${view.headerNames.length > 0 ? `${view.headerNames.join(', ')} (values not shown)` : '(none)'}`,
  )
  const ctx = Object.keys(view.context)
  if (ctx.length > 0) {
    lines.push(`          context: ${ctx.map((k) => `${k}=${view.context[k]}`).join(', ')}`)
  }
  if (view.repeat > 1) lines.push(`          sent ${view.repeat} times; this is the last decision`)
  lines.push(
    `${style.bold('client')}    ${decision.clientIp === '' ? '(unknown: outside every IP list)' : decision.clientIp}`,
  )
  if (decision.apiKeyId !== undefined)
    lines.push(
      `${style.bold('api key')}   ${decision.apiKeyId} (verified; the key itself is never shown)`,
    )
  lines.push('')

  const verdict = decision.allowed
    ? style.green(style.bold('ALLOWED'))
    : style.red(style.bold('DENIED'))
  const by = decision.ruleId !== undefined ? ` by rule "${decision.ruleId}"` : ''
  const byType =
    decision.ruleId !== undefined ? rules.find((r) => r.id === decision.ruleId)?.type : undefined
  lines.push(
    `${verdict}  ${decision.status} ${decision.code}${by}${byType ? ` (${byType})` : ''}: ${decision.message}`,
  )
  if (decision.code === 'request.invalid') {
    lines.push('  the request-target cannot be canonicalised safely: refused before any rule runs')
  }
  lines.push('')

  lines.push(style.bold('rules') + style.dim(' (in policy order)'))
  const idWidth = Math.max(2, ...rules.map((r) => [...r.id].length))
  const typeWidth = Math.max(4, ...rules.map((r) => r.type.length))
  const byId = new Map(decision.results.map((r) => [r.ruleId, r]))
  for (const rule of rules) {
    const result = byId.get(rule.id)
    const [plain, coloured] = outcomeLabel(result, style)
    const mark = result !== undefined && rule.id === decision.ruleId ? '▶' : ' '
    const detail = ruleDetail(result, rule)
    lines.push(
      `  ${mark} ${pad(coloured, OUTCOME_WIDTH, plain)} ${pad(rule.id, idWidth)}  ${pad(rule.type, typeWidth)}${detail ? `  ${result === undefined ? style.dim(detail) : detail}` : ''}`.trimEnd(),
    )
  }
  if (rules.length === 0) lines.push(style.dim('  (the policy has no rules)'))
  lines.push('')

  const headers = Object.entries(decision.headers)
  lines.push(style.bold('response headers') + (headers.length === 0 ? style.dim(' (none)') : ''))
  for (const [name, value] of headers) lines.push(`  ${name}: ${value}`)
  return lines
}
