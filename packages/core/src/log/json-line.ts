import type { DecisionEvent } from '../types.js'

/** A JSON string literal; the common case (nothing to escape) is a scan and two concatenations. */
function jsonString(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0x2028 || c === 0x2029) {
      // JSON.stringify leaves U+2028/U+2029 raw, and some log tools break lines on them.
      return JSON.stringify(text)
        .replace(/\u2028/g, '\\u2028')
        .replace(/\u2029/g, '\\u2029')
    }
  }
  return `"${text}"`
}

/**
 * One DecisionEvent as one line of JSON (no newline), field order fixed. Several times cheaper
 * than a general-purpose serializer: the fields are known, and the engine has already escaped
 * control characters in the request's own text. Write it to a buffered stream:
 * `onDecision: (e) => stream.write(formatDecisionEvent(e) + '\n')`.
 */
export function formatDecisionEvent(event: DecisionEvent): string {
  let line =
    `{"time":${event.time},"method":${jsonString(event.method)},"path":${jsonString(event.path)}` +
    `,"clientIp":${jsonString(event.clientIp)},"userAgent":${jsonString(event.userAgent)}` +
    `,"allowed":${event.allowed},"status":${event.status},"code":${jsonString(event.code)}`
  if (event.ruleId !== undefined) line += `,"ruleId":${jsonString(event.ruleId)}`
  if (event.apiKeyId !== undefined) line += `,"apiKeyId":${jsonString(event.apiKeyId)}`
  if (event.monitored !== undefined)
    line += `,"monitored":[${event.monitored.map(jsonString).join(',')}]`
  return `${line},"durationMs":${event.durationMs}}`
}
