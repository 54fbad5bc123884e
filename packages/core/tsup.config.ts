import { defineConfig } from 'tsup'

export default defineConfig({
  entry: ['src/index.ts', 'src/testing.ts'],
  format: ['esm', 'cjs'],
  dts: { compilerOptions: { composite: false } },
  tsconfig: 'tsconfig.runtime-free.json',
  clean: true,
  sourcemap: true,
  target: 'es2022',
  platform: 'neutral',
})
