import { describe, expect, it } from 'vitest'
import { example, lines, sec, STACK, tmp } from './helpers.js'

describe('sec (global)', () => {
  it('--help lists every command', () => {
    const r = sec(['--help'])
    expect(r.status).toBe(0)
    for (const c of ['check', 'explain', 'key', 'test', 'replay']) expect(r.stdout).toContain(c)
    expect(r.stdout).toContain('Exit codes')
    expect(r.stderr).toBe('')
  })

  it.each([['check'], ['explain'], ['key'], ['test'], ['replay'], ['key', 'new'], ['key', 'hash']])(
    'sec %s --help prints its usage and exits 0',
    (...command) => {
      const r = sec([...command, '--help'])
      expect(r.status).toBe(0)
      expect(r.stdout).toMatch(new RegExp(`^Usage: sec ${command[0]}`))
      expect(r.stderr).toBe('')
      // -h and `sec help <command>` too
      expect(sec([...command, '-h']).stdout).toBe(r.stdout)
      if (command.length === 1) expect(sec(['help', command[0]!]).stdout).toBe(r.stdout)
    },
  )

  it('without a command prints the help on stderr and exits 2', () => {
    const r = sec([])
    expect(r.status).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain('Usage: sec <command>')
  })

  it('an unknown command is one line and exit 2', () => {
    const r = sec(['deploy', 'policy.json'])
    expect(r.status).toBe(2)
    expect(r.stdout).toBe('')
    expect(lines(r.stderr)).toEqual([
      'sec: unknown command "deploy"; commands: check, explain, key, test, replay (see sec --help)',
    ])
  })

  it('an unknown command that could be a secret is not echoed', () => {
    const r = sec(['s3cr3t value/with spaces'])
    expect(r.status).toBe(2)
    expect(r.all).not.toContain('s3cr3t')
  })

  it.each([
    [['--nope']],
    [['check', example('policy.json'), '--nope']],
    [['explain', example('policy.json'), '--nope']],
    [['key', 'new', '--nope']],
    [['key', 'hash', '--nope', 'x']],
    [['test', example('policy.json'), example('cases.json'), '--nope']],
    [['replay', example('policy.json'), example('decisions.log'), '--nope']],
  ])('an unknown option is one line and exit 2: %j', (args) => {
    const r = sec(args)
    expect(r.status).toBe(2)
    expect(r.stdout).toBe('')
    expect(lines(r.stderr)).toHaveLength(1)
    expect(r.stderr).toMatch(/^sec: (\w[\w ]* )?.*unknown option --nope/)
  })

  it('an unknown option with a value never echoes the value', () => {
    const r = sec(['explain', example('policy.json'), '--x-api-key=topsecret'])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('unknown option --x-api-key')
    expect(r.all).not.toContain('topsecret')
  })

  it('an option without its value is one line and exit 2', () => {
    const r = sec(['explain', example('policy.json'), '--method'])
    expect(r.status).toBe(2)
    expect(lines(r.stderr)).toEqual([
      'sec: explain: option -X/--method needs a value (see sec explain --help)',
    ])
  })

  it('wrong argument counts are usage errors', () => {
    for (const args of [
      ['check'],
      ['check', 'a', 'b'],
      ['test', 'a'],
      ['replay', 'a'],
      ['explain'],
    ]) {
      const r = sec(args)
      expect(r.status, args.join(' ')).toBe(2)
      expect(lines(r.stderr), args.join(' ')).toHaveLength(1)
    }
  })

  it('--version prints the package version', () => {
    const r = sec(['--version'])
    expect(r.status).toBe(0)
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
  })

  it.each([
    [['check', 'missing.json']],
    [['explain', 'missing.json', '--url', '/']],
    [['test', 'missing.json', example('cases.json')]],
    [['test', example('policy.json'), 'missing.json']],
    [['replay', 'missing.json', example('decisions.log')]],
    [['replay', example('policy.json'), 'missing.json']],
  ])('a missing file is one line, exit 2, no stack trace: %j', (args) => {
    const r = sec(args)
    expect(r.status).toBe(2)
    expect(r.stdout).toBe('')
    expect(lines(r.stderr)).toEqual(['sec: cannot read missing.json: ENOENT (no such file)'])
    expect(r.all).not.toMatch(STACK)
  })

  it('a directory given as a file is one line', () => {
    const dir = tmp('x', '{}').replace(/[^/\\]+$/, '')
    const r = sec(['check', dir])
    expect(r.status).toBe(2)
    expect(lines(r.stderr)).toHaveLength(1)
    expect(r.stderr).toContain('EISDIR')
    expect(r.all).not.toMatch(STACK)
  })
})
