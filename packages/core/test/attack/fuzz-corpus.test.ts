// Replays the fuzz corpus (fuzz/corpus/<target>/*: crafted seeds and whatever coverage-guided
// fuzzing kept or found) through the fuzz targets' invariants. Runs in CI without jazzer.js; a
// new finding is fixed, then its input is added to the corpus so it stays fixed.
import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { TARGETS } from '../../fuzz/targets.js'
import { fuzz as clientIpEntry } from '../../fuzz/client-ip.fuzz.js'
import { fuzz as policyEntry } from '../../fuzz/policy.fuzz.js'
import { fuzz as requestTargetEntry } from '../../fuzz/request-target.fuzz.js'
import { expectPrototypeUnpolluted, TIMEOUT } from './support.js'

const corpus = new URL('../../fuzz/corpus/', import.meta.url)

describe('attack: fuzz corpus replay', () => {
  const folders = readdirSync(corpus).sort()

  it('has a corpus folder for every target, and a target for every folder', () => {
    expect(folders).toEqual(Object.keys(TARGETS).sort())
  })

  for (const folder of folders) {
    it(
      `${folder}: every input keeps the invariants`,
      () => {
        const target = TARGETS[folder]!
        const files = readdirSync(new URL(`${folder}/`, corpus)).sort()
        expect(files.length).toBeGreaterThan(10)
        for (const file of files) {
          const data = new Uint8Array(readFileSync(new URL(`${folder}/${file}`, corpus)))
          expect(() => target(data), `${folder}/${file}`).not.toThrow()
        }
        expectPrototypeUnpolluted()
      },
      TIMEOUT,
    )
  }

  it('the jazzer entry points run the same targets', () => {
    const bytes = (s: string) => new TextEncoder().encode(s)
    expect(() => requestTargetEntry(bytes('0/admin%3Bx'))).not.toThrow()
    expect(() => clientIpEntry(bytes('\u0001\u000010.0.0.1\n6.6.6.6'))).not.toThrow()
    expect(() => policyEntry(bytes('{"version":1,"rules":[]}'))).not.toThrow()
  })
})
