import { createHash, randomBytes } from 'node:crypto'
import { parse, str } from '../args.js'
import { EXIT_OK, usage } from '../errors.js'
import { readText, type Out, type Style } from '../io.js'

export const keyHelp = `Usage: sec key new [--prefix <p>] [--id <id>] [--json]
       sec key hash <key>      (or: sec key hash -   to read the key from stdin)

  new    prints a new random API key (32 random bytes, base64url) and the line to paste
         into the "keys" of an apiKey rule: { "id": "...", "sha256": "..." }.
         The key is shown once: the policy keeps only its hash.
  hash   prints the lowercase hex SHA-256 of a key, for the policy's "sha256".
         Prefer '-' (stdin): a key on the command line stays in your shell history.

Options (new):
  --prefix <p>  text before the random part, e.g. sk_live_ (letters, digits, _ - .)
  --id <id>     the key's id in the policy and the logs (default key-<random>)
  --json        print { id, key, sha256 } as JSON
Options:
  -h, --help    show this help

Examples:
  $ sec key new --prefix sk_live_ --id billing
  $ printf %s "$KEY" | sec key hash -`

const ID = /^[A-Za-z0-9_.:-]{1,64}$/
const PREFIX = /^[A-Za-z0-9_.-]{0,64}$/
/** Core refuses keys longer than this before hashing. */
const MAX_KEY_LENGTH = 4096

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex')

export function key(args: readonly string[], out: Out, style: Style): number {
  const sub = args[0]
  if (sub === undefined || sub === '--help' || sub === '-h') {
    if (sub === undefined)
      throw usage('key: expected a subcommand: new or hash (see sec key --help)')
    out.print(keyHelp)
    return EXIT_OK
  }
  if (sub === 'new') return keyNew(args.slice(1), out, style)
  if (sub === 'hash') return keyHash(args.slice(1), out)
  throw usage(`key: unknown subcommand (expected new or hash; see sec key --help)`)
}

function keyNew(args: readonly string[], out: Out, style: Style): number {
  const { values, positionals } = parse('key new', args, {
    prefix: { type: 'string' },
    id: { type: 'string' },
    json: { type: 'boolean' },
  })
  if (values.help) {
    out.print(keyHelp)
    return EXIT_OK
  }
  if (positionals.length > 0) throw usage('key new: takes no arguments (see sec key --help)')
  const prefix = str(values.prefix) ?? ''
  if (!PREFIX.test(prefix)) {
    throw usage('key new: --prefix must be at most 64 letters, digits or _ - .')
  }
  const id = str(values.id) ?? `key-${randomBytes(4).toString('hex')}`
  if (!ID.test(id)) throw usage('key new: --id must be 1-64 letters, digits or _ . : -')
  const secret = prefix + randomBytes(32).toString('base64url')
  const hash = sha256(secret)
  if (values.json) {
    out.print(JSON.stringify({ id, key: secret, sha256: hash }, null, 2))
    return EXIT_OK
  }
  out.print(
    `${style.bold('key')} (shown once: store it now, e.g. in your secret manager; it cannot be recovered)`,
  )
  out.print(`  ${secret}`)
  out.print('')
  out.print(
    `${style.bold('policy')} (paste into the "keys" of an apiKey rule; the policy holds only the hash)`,
  )
  out.print(`  { "id": ${JSON.stringify(id)}, "sha256": "${hash}" }`)
  return EXIT_OK
}

function keyHash(args: readonly string[], out: Out): number {
  const { values, positionals } = parse('key hash', args, {})
  if (values.help) {
    out.print(keyHelp)
    return EXIT_OK
  }
  // Never echo the positionals: they are keys.
  if (positionals.length !== 1) {
    throw usage(`key hash: expected one key (or - for stdin), got ${positionals.length}`)
  }
  let secret = positionals[0]!
  if (secret === '-') {
    secret = readText('-')
    // A key piped with echo ends in a newline that is not part of the key.
    secret = secret.replace(/\r?\n$/, '')
  }
  if (secret === '') throw usage('key hash: the key is empty')
  // Keys that core can never accept: say so instead of printing a hash that never verifies.
  if (secret !== secret.trim()) {
    out.warn(
      'sec: warning: the key starts or ends with whitespace; header values are trimmed, so it can never verify',
    )
  } else if (secret.includes(',')) {
    out.warn(
      'sec: warning: the key contains a comma; a comma reads as a repeated header, so it can never verify',
    )
  } else if (secret.length > MAX_KEY_LENGTH) {
    out.warn(
      `sec: warning: the key is longer than ${MAX_KEY_LENGTH} characters; @sec/core refuses such keys`,
    )
  } else if ([...secret].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) {
    out.warn('sec: warning: the key contains control characters; it cannot be sent in a header')
  }
  out.print(sha256(secret))
  return EXIT_OK
}
