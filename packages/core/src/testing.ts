// @sec/core/testing: the conformance table every Store must pass (MemoryStore passes it in
// core's tests; @sec/redis and third-party stores run the same table). No test-framework
// import: `runStoreCase` throws on the first mismatch, under any runner.
export { STORE_CASE_EPOCH_MS, storeCases, runStoreCase } from './store/store-cases.js'
export type {
  ExpectedOutcome,
  RunStoreCaseOptions,
  StoreCase,
  StoreCaseStep,
  StoreFactory,
  StoreLike,
} from './store/store-cases.js'
