import { createHash, randomBytes } from 'node:crypto'
import { createEngine, escapeControl, MemoryStore, type Engine } from '@sec/core'
import { parse, str } from '../args.js'
import { CliError, EXIT_FAIL, EXIT_OK, EXIT_USAGE, usage } from '../errors.js'
import { plural, readText, type Out, type Style } from '../io.js'
import { parseLogLine, type LogRecord } from '../log-parse.js'
import { loadRunnablePolicy } from '../policy-file.js'

export const replayHelp = `Usage: sec replay <policy.json> <log> [options]

Replays logged requests against a candidate policy and reports which would now be decided
differently, grouped by the rule responsible (old decision → new decision, counts, examples).

The log may mix, line by line:
  - the JSON decision log: one DecisionEvent per line (method, path, clientIp, userAgent,
    status, code, ruleId, apiKeyId, time), also wrapped as { service, ...event } or nested
    one level ({ level, sec: event }, as pino writes it);
  - the combined (or common) access-log format:
    1.2.3.4 - - [10/Oct/2025:13:55:36 +0000] "GET /path HTTP/1.1" 200 512 "referer" "ua"
Lines that are neither are skipped and counted. '-' reads the log from stdin.

What a log cannot tell, and what replay assumes instead:
  - API keys are never logged, only their ids: a request logged with apiKeyId X is replayed
    with a stand-in key that the candidate policy accepts as key X (each key hash in the
    candidate is swapped for the hash of a stand-in key made for this run). A logged
    apiKey.invalid is replayed with a key that matches nothing; no apiKeyId, with no key.
  - Access logs hold no decision and no key: the status stands for the decision (400, 401,
    403, 429, 503 read as denied, anything else as allowed); a request not answered 401 is
    given a valid stand-in key per client address (full scope), one answered 401 none.
  - Request headers other than User-Agent and the key are not logged: header rules (and
    custom rule types, whose code lives in your app) are left out, with a notice, and
    requests they decided are counted as not comparable.
  - Rate limits are replayed on one in-memory store on the logged clock (--per-service: one
    store per "service"), starting empty.

Options:
  --fail-on-change      exit 1 when any request would be decided differently
  --examples <n>        examples shown per change (default 3)
  --per-service         keep separate rate-limit state per "service" (as in-memory stores do)
  --json                print the report as JSON
  -h, --help            show this help

Exit codes: 0 report printed, 1 changes found with --fail-on-change (or invalid policy),
2 usage error or unreadable file.`

/** Statuses @sec/core denies with: in an access log they stand for a denial. */
const DENIAL_STATUSES = new Set([400, 401, 403, 429, 503])
/** Access-log clients given their own stand-in key, at most (the rest share one). */
const MAX_CLIENT_KEYS = 50_000
/** Codes a replay cannot reproduce: the store or a rule failed when the request was logged. */
const NOT_REPRODUCIBLE = new Set(['store.unavailable', 'rule.error'])

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex')

interface Example {
  line: number
  method: string
  path: string
  clientIp: string
}

interface Transition {
  from: string
  to: string
  count: number
  examples: Example[]
}

interface Group {
  ruleId: string
  type: string | undefined
  count: number
  transitions: Map<string, Transition>
}

type Rule = Record<string, unknown>

export async function replay(args: readonly string[], out: Out, style: Style): Promise<number> {
  const { values, positionals } = parse('replay', args, {
    'fail-on-change': { type: 'boolean' },
    examples: { type: 'string' },
    'per-service': { type: 'boolean' },
    json: { type: 'boolean' },
  })
  if (values.help) {
    out.print(replayHelp)
    return EXIT_OK
  }
  if (positionals.length !== 2) {
    throw usage(
      `replay: expected a policy file and a log file, got ${plural(positionals.length, 'argument')} (see sec replay --help)`,
    )
  }
  const examplesText = str(values.examples) ?? '3'
  if (!/^[0-9]{1,4}$/.test(examplesText))
    throw usage('replay: --examples must be a whole number from 0 to 9999')
  const maxExamples = Number(examplesText)
  const [policyFile, logFile] = positionals as [string, string]
  const { policy, rules } = loadRunnablePolicy(policyFile, 'replay')
  const logText = readText(logFile)

  // Parse every line first: access-log clients get stand-in keys before the engine is built.
  const records: LogRecord[] = []
  const skippedLines: number[] = []
  const lines = logText.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '')
    if (line.trim() === '') continue
    const record = parseLogLine(line, i + 1)
    if (record) records.push(record)
    else skippedLines.push(i + 1)
  }
  if (records.length === 0 && skippedLines.length > 0) {
    throw new CliError(
      `replay: no line of ${logFile === '-' ? 'stdin' : logFile} is a JSON decision event or an access-log line (${plural(skippedLines.length, 'line')} skipped)`,
      EXIT_USAGE,
    )
  }

  const notices: string[] = []
  const leftOut = new Map<string, string>() // rule id → type
  const candidateRules: Rule[] = []
  for (const rule of rules) {
    const type = String(rule.type)
    if (type === 'header') {
      leftOut.set(String(rule.id), type)
      notices.push(
        `rule "${String(rule.id)}" (header) is left out: logs do not record request headers`,
      )
    } else if (!['ip', 'userAgent', 'path', 'apiKey', 'rateLimit'].includes(type)) {
      leftOut.set(String(rule.id), type)
      notices.push(
        `rule "${String(rule.id)}" has custom type "${type}" and is left out: its code lives in your app`,
      )
    } else candidateRules.push(rule)
  }

  // Stand-in keys: one per key id, and one per access-log client (a request not answered 401).
  const standIn = new Map<string, string>()
  const keyFor = (id: string): string => {
    let k = standIn.get(id)
    if (k === undefined) {
      k = `sec-replay-${randomBytes(24).toString('base64url')}`
      standIn.set(id, k)
    }
    return k
  }
  const invalidKey = `sec-replay-invalid-${randomBytes(24).toString('base64url')}`
  const apiKeyRules = candidateRules.filter((r) => r.type === 'apiKey')
  const clientKeyIds = new Map<string, string>()
  if (apiKeyRules.length > 0) {
    const clients = new Set<string>()
    for (const r of records)
      if (r.format === 'combined' && r.old.status !== 401) clients.add(r.clientIp)
    // A rule holds at most 100,000 keys: leave room for the policy's own.
    const most = Math.max(...apiKeyRules.map((r) => (r.keys as unknown[]).length))
    const room = Math.min(MAX_CLIENT_KEYS, 100_000 - most - 1)
    let n = 0
    for (const ip of clients) {
      const id =
        n < room && /^[A-Za-z0-9_.:-]{1,50}$/.test(ip)
          ? `replay-client:${ip}`
          : 'replay-client:other'
      clientKeyIds.set(ip, id)
      n++
    }
    if (clients.size > 0) {
      notices.push(
        `${plural(clients.size, 'access-log client')} replayed with a stand-in API key each (access logs carry no key): key scopes are not checked for them`,
      )
    }
  }
  const clientIds = [...new Set(clientKeyIds.values())]
  const rewritten = candidateRules.map((rule) => {
    if (rule.type !== 'apiKey') return rule
    const keys: Rule[] = (rule.keys as Rule[]).map((k) => ({
      ...k,
      sha256: sha256(keyFor(String(k.id))),
    }))
    const taken = new Set(keys.map((k) => String(k.id)))
    for (const id of clientIds) if (!taken.has(id)) keys.push({ id, sha256: sha256(keyFor(id)) })
    return { ...rule, keys }
  })
  const keyHeaders = [
    ...new Set(
      apiKeyRules.map((r) => (typeof r.header === 'string' ? r.header.toLowerCase() : 'x-api-key')),
    ),
  ]

  // Engines: one store for all (as a shared store), or one per service.
  const engines = new Map<string, { engine: Engine; now: number }>()
  const engineFor = (service: string | undefined): { engine: Engine; now: number } => {
    const name = values['per-service'] ? (service ?? '') : ''
    let entry = engines.get(name)
    if (entry === undefined) {
      const state = { engine: undefined as unknown as Engine, now: 0 }
      state.engine = createEngine(
        { ...policy, rules: rewritten, log: 'none' },
        { store: new MemoryStore({ now: () => state.now }) },
      )
      entry = state
      engines.set(name, entry)
    }
    return entry
  }

  const ruleTypes = new Map(rules.map((r) => [String(r.id), String(r.type)]))
  const groups = new Map<string, Group>()
  const monitor = new Map<string, number>()
  let unchanged = 0
  let changed = 0
  let notComparable = 0
  let json = 0
  let combined = 0
  for (const rec of records) {
    if (rec.format === 'json') json++
    else combined++
    const headers: Record<string, string[]> = {}
    if (rec.userAgent !== undefined) headers['user-agent'] = [rec.userAgent]
    let key: string | undefined
    if (rec.format === 'json') {
      if (rec.old.apiKeyId !== undefined) key = keyFor(rec.old.apiKeyId)
      else if (rec.old.code === 'apiKey.invalid') key = invalidKey
    } else if (rec.old.status !== 401) {
      const id = clientKeyIds.get(rec.clientIp)
      if (id !== undefined) key = keyFor(id)
    }
    if (key !== undefined) for (const h of keyHeaders) headers[h] = [key]

    const state = engineFor(rec.service)
    state.now = Math.max(state.now, rec.time ?? Date.now())
    const d = await state.engine.decide({
      method: rec.method,
      url: rec.target,
      headers,
      remoteAddress: rec.clientIp === '' ? undefined : rec.clientIp,
    })
    for (const r of d.results) {
      if (r.monitor && r.outcome === 'deny') monitor.set(r.ruleId, (monitor.get(r.ruleId) ?? 0) + 1)
    }

    const old = rec.old
    if (
      (old.code !== undefined && NOT_REPRODUCIBLE.has(old.code)) ||
      (old.ruleId !== undefined && leftOut.has(old.ruleId))
    ) {
      notComparable++
      continue
    }
    let differs: boolean
    let from: string
    if (rec.format === 'json') {
      const oldAllowed = old.allowed ?? old.status < 400
      differs =
        oldAllowed !== d.allowed ||
        old.status !== d.status ||
        (old.code !== undefined && old.code !== d.code) ||
        (old.ruleId ?? '') !== (d.ruleId ?? '')
      from = label(oldAllowed, old.status, old.code ?? '', old.ruleId)
    } else {
      const oldDenied = DENIAL_STATUSES.has(old.status)
      differs = d.allowed ? oldDenied : !oldDenied || old.status !== d.status
      from = `logged ${old.status}`
    }
    if (!differs) {
      unchanged++
      continue
    }
    changed++
    const to = label(d.allowed, d.status, d.code, d.ruleId)
    const ruleId = d.ruleId ?? old.ruleId ?? '(no rule)'
    let group = groups.get(ruleId)
    if (group === undefined) {
      group = { ruleId, type: ruleTypes.get(ruleId), count: 0, transitions: new Map() }
      groups.set(ruleId, group)
    }
    group.count++
    const tkey = `${from}\u0000${to}`
    let t = group.transitions.get(tkey)
    if (t === undefined) {
      t = { from, to, count: 0, examples: [] }
      group.transitions.set(tkey, t)
    }
    t.count++
    if (t.examples.length < maxExamples) {
      t.examples.push({
        line: rec.line,
        method: escapeControl(rec.method, 32),
        path: escapeControl(rec.shownPath, 200),
        clientIp: rec.clientIp,
      })
    }
  }

  const sorted = [...groups.values()].sort(
    (a, b) => b.count - a.count || a.ruleId.localeCompare(b.ruleId),
  )
  const failOnChange = values['fail-on-change'] === true
  const exit = failOnChange && changed > 0 ? EXIT_FAIL : EXIT_OK

  if (values.json) {
    out.print(
      JSON.stringify(
        {
          policy: policyFile,
          log: logFile,
          replayed: records.length,
          formats: { json, combined },
          skipped: { count: skippedLines.length, lines: skippedLines.slice(0, 100) },
          unchanged,
          changed,
          notComparable,
          groups: sorted.map((g) => ({
            ruleId: g.ruleId,
            type: g.type ?? null,
            inCandidate: g.type !== undefined,
            count: g.count,
            transitions: [...g.transitions.values()].sort((a, b) => b.count - a.count),
          })),
          monitor: Object.fromEntries(monitor),
          notices,
        },
        null,
        2,
      ),
    )
    return exit
  }

  for (const n of notices) out.warn(`notice: ${n}`)
  const formats = [
    json > 0 ? plural(json, 'JSON event') : '',
    combined > 0 ? plural(combined, 'access-log line') : '',
  ].filter(Boolean)
  out.print(
    `replayed ${plural(records.length, 'request')}${formats.length > 0 ? ` (${formats.join(', ')})` : ''} against ${policyFile}`,
  )
  if (skippedLines.length > 0) {
    const shown = skippedLines.slice(0, 5).join(', ')
    out.print(
      style.yellow(
        `skipped ${plural(skippedLines.length, 'unparseable line')} (line${skippedLines.length > 1 ? 's' : ''} ${shown}${skippedLines.length > 5 ? ', …' : ''})`,
      ),
    )
  }
  if (notComparable > 0) {
    out.print(
      `${plural(notComparable, 'request')} not comparable (logged when the store or a rule failed, or decided by a rule left out)`,
    )
  }
  out.print(`${unchanged} unchanged, ${changed} decided differently`)
  for (const g of sorted) {
    out.print('')
    const where = g.type !== undefined ? `(${g.type})` : '(not in the candidate policy)'
    out.print(`${style.bold(`rule "${g.ruleId}"`)} ${where}: ${plural(g.count, 'request')}`)
    for (const t of [...g.transitions.values()].sort((a, b) => b.count - a.count)) {
      out.print(`  ${t.from} → ${t.to}: ${t.count}`)
      for (const e of t.examples) {
        out.print(
          style.dim(
            `    ${e.method} ${e.path} from ${e.clientIp || '(unknown client)'} (line ${e.line})`,
          ),
        )
      }
      if (t.count > t.examples.length && t.examples.length > 0) {
        out.print(style.dim(`    …and ${t.count - t.examples.length} more`))
      }
    }
  }
  if (monitor.size > 0) {
    out.print('')
    out.print(
      `monitor rules that would deny: ${[...monitor.entries()].map(([id, n]) => `${id} ${n}`).join(', ')}`,
    )
  }
  if (failOnChange && changed > 0)
    out.warn(`sec: replay: ${plural(changed, 'request')} would be decided differently`)
  return exit
}

function label(allowed: boolean, status: number, code: string, ruleId: string | undefined): string {
  if (allowed) {
    if (code === 'store.unavailable') return 'allowed (store unavailable)'
    return ruleId !== undefined ? 'allowed (exempted)' : 'allowed'
  }
  return `${status} ${code}`.trim()
}
