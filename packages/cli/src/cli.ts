// The `sec` command. Every error is one line on stderr (`sec: …`), never a stack trace; exit
// codes: 0 ok, 1 check/test failures, 2 usage errors (see errors.ts).
import { readFileSync } from 'node:fs'
import { CliError, EXIT_OK, EXIT_USAGE } from './errors.js'
import { colorFor, makeStyle, Out } from './io.js'
import { check, checkHelp } from './commands/check.js'
import { explain, explainHelp } from './commands/explain.js'
import { key, keyHelp } from './commands/key.js'
import { replay, replayHelp } from './commands/replay.js'
import { test, testHelp } from './commands/test.js'

const MAIN_HELP = `sec: one security policy for every Node framework

Usage: sec <command> [options]

Commands:
  check <policy.json>                    validate a policy: every problem, its path, a hint
  explain <policy.json> --url <target>   run one request through the policy, show every rule
  key new | key hash <key>               make an API key and its policy line; hash a key
  test <policy.json> <cases.json>        run policy tests written as data
  replay <policy.json> <log>             which logged requests a policy would decide differently

Options:
  -h, --help     show help (also: sec <command> --help)
  -v, --version  show the version

Exit codes: 0 ok, 1 check or test failures, 2 usage errors.`

const COMMANDS = ['check', 'explain', 'key', 'test', 'replay'] as const

const HELP: Record<string, string> = {
  check: checkHelp,
  explain: explainHelp,
  key: keyHelp,
  test: testHelp,
  replay: replayHelp,
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: string
    }
    return pkg.version ?? 'unknown'
  } catch {
    return 'unknown'
  }
}

async function run(argv: readonly string[], out: Out): Promise<number> {
  const style = makeStyle(colorFor(process.stdout, process.env))
  const [command, ...rest] = argv
  switch (command) {
    case undefined:
      out.warn(MAIN_HELP)
      return EXIT_USAGE
    case '-h':
    case '--help':
      out.print(MAIN_HELP)
      return EXIT_OK
    case 'help': {
      const topic = rest[0]
      if (topic === undefined) out.print(MAIN_HELP)
      else if (HELP[topic] !== undefined) out.print(HELP[topic])
      else throw unknownCommand(topic)
      return EXIT_OK
    }
    case '-v':
    case '--version':
      out.print(version())
      return EXIT_OK
    case 'check':
      return check(rest, out, style)
    case 'explain':
      return explain(rest, out, style)
    case 'key':
      return key(rest, out, style)
    case 'hash-key': // the name DESIGN.md first gave `sec key hash`
      return key(['hash', ...rest], out, style)
    case 'test':
      return test(rest, out, style)
    case 'replay':
      return replay(rest, out, style)
    default:
      if (command.startsWith('-')) {
        throw new CliError(
          `unknown option ${command.replace(/=.*$/, '')} (see sec --help)`,
          EXIT_USAGE,
        )
      }
      throw unknownCommand(command)
  }
}

function unknownCommand(name: string): CliError {
  const shown = /^[A-Za-z0-9_.:-]{1,32}$/.test(name) ? `"${name}"` : '(not shown)'
  return new CliError(
    `unknown command ${shown}; commands: ${COMMANDS.join(', ')} (see sec --help)`,
    EXIT_USAGE,
  )
}

async function main(): Promise<void> {
  // `sec … | head` closes the pipe early: that is not an error worth a stack trace.
  process.stdout.on('error', () => {})
  process.stderr.on('error', () => {})
  const out = new Out()
  let code: number
  try {
    code = await run(process.argv.slice(2), out)
  } catch (error) {
    if (error instanceof CliError) {
      out.warn(`sec: ${error.message}`)
      code = error.exitCode
    } else {
      const message = error instanceof Error ? error.message : String(error)
      out.warn(`sec: internal error: ${message.split('\n')[0]} (please report it)`)
      code = EXIT_USAGE
    }
  }
  out.flush((stream, text) => process[stream].write(text))
  process.exitCode = code
}

void main()
