import { sha256Hex, timingSafeEqual } from '../crypto/sha256.js'
import { RecentKeys } from '../crypto/recent-keys.js'
import { trimOws } from '../request/headers.js'
import { compilePaths } from '../request/path-glob.js'
import { pointer, s, type PolicyProblem } from '../policy/schema-dsl.js'
import type { ApiKeyEntry, ApiKeyRule } from '../policy/policy-types.js'
import {
  baseProperties,
  checkGlobs,
  compileMethods,
  compileScope,
  globList,
  RULE_ID,
} from './rule-base.js'
import { PASS, type CompiledRule, type RequestView, type Verdict } from './rule.js'

const SHA256_HEX = /^[0-9a-f]{64}$/
/** Longer candidates are refused before hashing: no key is this long, and hashing costs. */
const MAX_KEY_LENGTH = 4096

export const apiKeyRuleSchema = s.object(
  {
    ...baseProperties('apiKey'),
    keys: s.req(
      s.array(
        s.object({
          id: s.req(
            s.string({
              pattern: RULE_ID,
              hint: 'must be 1-64 letters, digits or _ . : -',
              description: 'Logged instead of the key.',
            }),
          ),
          sha256: s.req(
            s.string({
              pattern: SHA256_HEX,
              sensitive: true,
              hint: 'must be 64 lowercase hex characters: the SHA-256 of the key (`sec key hash <key>`), never the key itself',
              description: 'Lowercase hex SHA-256 of the key.',
            }),
          ),
          paths: s.opt(globList('Paths this key may reach (exact canonical match).')),
          methods: s.opt(
            s.array(s.string({ minLength: 1, maxLength: 32 }), {
              minItems: 1,
              maxItems: 64,
              description: 'Methods this key may use.',
            }),
          ),
        }),
        { minItems: 1, maxItems: 100_000, description: 'Accepted keys, by hash.' },
      ),
    ),
    header: s.opt(
      s.string({
        pattern: /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/,
        hint: 'is not a valid header name',
        description: 'Header carrying the key. Default x-api-key.',
      }),
    ),
    bearer: s.opt(s.boolean('Also accept Authorization: Bearer <key>. Default true.')),
    query: s.opt(
      s.string({
        minLength: 1,
        maxLength: 256,
        description: 'Also accept the key from this query parameter (off by default).',
      }),
    ),
    realm: s.opt(
      s.string({
        pattern: /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,128}$/,
        hint: 'must be printable ASCII without quotes or backslashes',
        description: 'Realm in WWW-Authenticate. Default "api".',
      }),
    ),
  },
  { description: 'Require an API key, checked against SHA-256 hashes.' },
)

export function checkApiKeyRule(
  rule: Record<string, unknown>,
  path: string,
  problems: PolicyProblem[],
): void {
  if (!Array.isArray(rule.keys)) return
  const ids = new Set<string>()
  const hashes = new Set<string>()
  rule.keys.forEach((key: unknown, i) => {
    if (key === null || typeof key !== 'object') return
    const { id, sha256, paths } = key as Record<string, unknown>
    const at = pointer(pointer(path, 'keys'), i)
    if (typeof id === 'string') {
      if (ids.has(id))
        problems.push({
          path: pointer(at, 'id'),
          message: `duplicate key id ${JSON.stringify(id)}`,
        })
      ids.add(id)
    }
    if (typeof sha256 === 'string') {
      if (hashes.has(sha256))
        problems.push({ path: pointer(at, 'sha256'), message: 'the same key hash is listed twice' })
      hashes.add(sha256)
    }
    checkGlobs(paths, pointer(at, 'paths'), problems)
  })
}

interface CompiledKey {
  readonly id: string
  readonly sha256: string
  readonly inScope: (req: RequestView) => boolean
}

/** What the request carries: no key, an ambiguous/malformed one, or one key string. */
const NONE = 0
const INVALID = 1
type Candidate = typeof NONE | typeof INVALID | string

function isUsable(value: string): boolean {
  // Web `Headers` joins a repeated header with ", ": a comma means "sent twice".
  return value !== '' && value.length <= MAX_KEY_LENGTH && !value.includes(',')
}

/** Merges a newly found key into what was found so far; places that disagree are invalid. */
function merge(found: Candidate, value: string): Candidate {
  if (!isUsable(value)) return INVALID
  return found === NONE || found === value ? value : INVALID
}

/**
 * Reads the key from every place the rule allows. Any ambiguity (a header twice, two places
 * that disagree, an empty value) is invalid rather than resolved in the client's favour.
 */
function readCandidate(
  req: RequestView,
  header: string,
  bearer: boolean,
  query: string | undefined,
): Candidate {
  let found: Candidate = NONE
  const fromHeader = req.headers.all(header)
  if (fromHeader !== undefined) {
    if (fromHeader.length !== 1) return INVALID
    found = merge(found, fromHeader[0]!)
    if (found === INVALID) return INVALID
  }
  if (bearer) {
    const auth = req.headers.all('authorization')
    if (auth !== undefined) {
      let token: string | undefined
      for (const value of auth) {
        if (!BEARER.test(value)) continue
        if (token !== undefined || auth.length > 1) return INVALID
        token = trimOws(value.slice(6))
      }
      if (token !== undefined) {
        found = merge(found, token)
        if (found === INVALID) return INVALID
      }
    }
  }
  if (query !== undefined) {
    const values = queryValues(req.input.url, query)
    if (values === null || values.length > 1) return INVALID
    if (values.length === 1) found = merge(found, values[0]!)
  }
  return found
}

const BEARER = /^bearer(?:[ \t]|$)/i

/** All values of one query parameter, percent-decoded; null when a value does not decode. */
function queryValues(target: string, name: string): string[] | null {
  const q = target.indexOf('?')
  if (q < 0) return []
  const hash = target.indexOf('#', q)
  const query = target.slice(q + 1, hash < 0 ? undefined : hash)
  const out: string[] = []
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=')
    const rawName = eq < 0 ? pair : pair.slice(0, eq)
    try {
      if (decodeURIComponent(rawName.replace(/\+/g, ' ')) !== name) continue
      out.push(eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' ')))
    } catch {
      return null
    }
  }
  return out
}

export function compileApiKeyRule(rule: ApiKeyRule): CompiledRule {
  const header = (rule.header ?? 'x-api-key').toLowerCase()
  const bearer = rule.bearer ?? true
  const realm = rule.realm ?? 'api'
  const byHash = new Map<string, CompiledKey>()
  for (const key of rule.keys) byHash.set(key.sha256, compileKey(key))

  const scheme = bearer ? 'Bearer' : 'ApiKey'
  const missing: Verdict = {
    outcome: 'deny',
    status: 401,
    code: 'apiKey.missing',
    message: 'An API key is required.',
    headers: { 'WWW-Authenticate': `${scheme} realm="${realm}"` },
  }
  const invalid: Verdict = {
    outcome: 'deny',
    status: 401,
    code: 'apiKey.invalid',
    message: 'The API key is not valid.',
    headers: { 'WWW-Authenticate': `${scheme} realm="${realm}", error="invalid_token"` },
  }
  const scope: Verdict = {
    outcome: 'deny',
    status: 403,
    code: 'apiKey.scope',
    message: 'This API key may not be used here.',
  }

  const recent = new RecentKeys<CompiledKey>()
  return {
    id: rule.id,
    type: 'apiKey',
    monitor: rule.mode === 'monitor',
    applies: compileScope(rule, 'broad'),
    evaluate(req) {
      const candidate = readCandidate(req, header, bearer, rule.query)
      if (candidate === NONE) return missing
      if (candidate === INVALID) return invalid
      const entry = recent.find(candidate) ?? verify(candidate)
      if (entry === undefined) return invalid
      req.apiKeyId = entry.id
      return entry.inScope(req) ? PASS : scope
    },
  }

  function verify(key: string): CompiledKey | undefined {
    const hash = sha256Hex(key)
    const entry = byHash.get(hash)
    // The Map is keyed by the hash, so its timing says nothing about the key; the final
    // comparison is constant-time anyway, as the principle asks.
    if (entry === undefined || !timingSafeEqual(hash, entry.sha256)) return undefined
    recent.remember(key, entry)
    return entry
  }
}

function compileKey(key: ApiKeyEntry): CompiledKey {
  // Scopes are exemptions of a kind: they match the exact canonical path only.
  const paths = key.paths && key.paths.length > 0 ? compilePaths(key.paths, 'exact') : undefined
  const methods = compileMethods(key.methods)
  return {
    id: key.id,
    sha256: key.sha256,
    inScope: (req) => (!paths || paths.matches(req.path)) && (!methods || methods(req.method)),
  }
}
