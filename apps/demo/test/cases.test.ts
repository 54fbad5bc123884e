// The demo ships its policy tests as data; the built `sec` binary must pass them.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../../', import.meta.url))

describe('apps/demo/cases.json', () => {
  it('passes with sec test', () => {
    const r = spawnSync(
      process.execPath,
      [
        'packages/cli/dist/cli.js',
        'test',
        'apps/demo/policy.json',
        'apps/demo/cases.json',
        '--rules',
        'apps/demo/country-block.mjs',
      ],
      { cwd: root, encoding: 'utf8' },
    )
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/18 cases passed, 0 failed/)
  })
  it('sec check accepts the demo policy', () => {
    const r = spawnSync(
      process.execPath,
      ['packages/cli/dist/cli.js', 'check', 'apps/demo/policy.json'],
      { cwd: root, encoding: 'utf8' },
    )
    expect(r.status).toBe(0)
  })
})
