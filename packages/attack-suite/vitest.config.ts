import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // One attack at a time: each file floods a 2-core machine, and a neighbouring flood would
    // turn the latency bounds into measurements of each other.
    fileParallelism: false,
  },
})
