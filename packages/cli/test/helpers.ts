import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll } from 'vitest'

export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
export const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url))
export const example = (name: string): string => join(EXAMPLES, name)

export interface Run {
  status: number | null
  stdout: string
  stderr: string
  /** stdout + stderr, for "never appears anywhere" checks. */
  all: string
}

/** Runs the built `sec` binary. Colour is off unless the test asks for it. */
export function sec(
  args: readonly string[],
  options: { input?: string; env?: Record<string, string | undefined> } = {},
): Run {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1' }
  delete env.FORCE_COLOR
  Object.assign(env, options.env)
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k]
  const result = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    input: options.input ?? '',
    env: env as NodeJS.ProcessEnv,
  })
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    all: result.stdout + result.stderr,
  }
}

const dir = mkdtempSync(join(tmpdir(), 'sec-cli-test-'))
let counter = 0
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Writes a temp file (objects as JSON) and returns its path. */
export function tmp(name: string, content: unknown): string {
  const path = join(dir, `${counter++}-${name}`)
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2))
  return path
}

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

/** The shipped example policy, as an object to derive variants from. */
export function examplePolicy(): { version: 1; rules: Record<string, unknown>[] } & Record<
  string,
  unknown
> {
  return JSON.parse(readFileSync(example('policy.json'), 'utf8')) as ReturnType<
    typeof examplePolicy
  >
}

/** Lines of a text, without the final empty one. */
export const lines = (text: string): string[] =>
  text.split('\n').filter((l, i, a) => l !== '' || i < a.length - 1)

/** A stack trace looks like "    at fn (file:line:col)". */
export const STACK = /^\s+at .+[:(]/m

export const SVC_A_KEY = 'sk_test_svc_a_example_only'
export const REPORTS_KEY = 'sk_test_reports_example_only'
