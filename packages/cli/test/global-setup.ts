// The tests run the built binary (dist/cli.js), as a user would. Refuse to test a stale build.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

function newest(dir: string): number {
  let latest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs)
  }
  return latest
}

export default function setup(): void {
  const cli = join(root, 'dist', 'cli.js')
  const build = 'run `pnpm --filter @sec/core build && pnpm --filter @sec/cli build` first'
  if (!existsSync(cli)) throw new Error(`packages/cli/dist/cli.js is missing: ${build}`)
  if (statSync(cli).mtimeMs < newest(join(root, 'src'))) {
    throw new Error(`packages/cli/dist/cli.js is older than src/: ${build}`)
  }
}
