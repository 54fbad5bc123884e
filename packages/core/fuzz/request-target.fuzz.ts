// jazzer.js entry point for the `request-target` target (see README.md); the invariants live in targets.ts.
import { fuzzRequestTarget } from './targets.js'

export function fuzz(data: Uint8Array): void {
  fuzzRequestTarget(data)
}
