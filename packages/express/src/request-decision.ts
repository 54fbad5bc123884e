// Where `req.sec` lives. Express gives every request its app's prototype
// (`Object.setPrototypeOf(req, app.request)`), and V8 then builds a new hidden class for each
// property later added to that request: `req.sec = decision` cost 1.2-2 µs per request, a
// WeakMap entry 0.3-0.6. So the Decision goes into a WeakMap, and `req.sec` reads it through
// an accessor on the request prototype all apps of one Express share (`express.request`,
// which Express documents for extension): mounted apps' prototypes inherit from it too, so a
// handler anywhere after `sec()` sees the Decision. A request that is not an Express app's
// gets an own property.
import type { Decision } from '@sec/core'

type Decisions = WeakMap<object, Decision>

/**
 * One WeakMap per Express request prototype, kept on that prototype under a registered symbol:
 * two copies of this package in one process then share it instead of hiding each other's.
 */
const SHARED = Symbol.for('@sec/express:decisions')

/** The last `app.request` seen and its map: one app serves most requests. */
let lastAppRequest: object | undefined
let lastDecisions: Decisions | undefined

/** Sets what `req.sec` reads. */
export function setDecision(req: { sec?: Decision }, decision: Decision): void {
  const appRequest: unknown = Object.getPrototypeOf(req)
  let decisions = appRequest === lastAppRequest ? lastDecisions : undefined
  if (decisions === undefined) {
    decisions = decisionsFor(appRequest)
    lastAppRequest = appRequest as object
    lastDecisions = decisions
  }
  // A request with its own `sec` (defined by the app itself) keeps showing that property:
  // write there, so `req.sec` is this Decision whatever else happened.
  if (decisions === undefined || Object.hasOwn(req, 'sec')) req.sec = decision
  else decisions.set(req, decision)
}

/**
 * The decision map behind `req.sec` for requests with this prototype, installing the accessor
 * on first use; undefined when the request is not an Express app's, or when something else
 * already defines `sec` on Express's request prototype (we never replace it).
 */
function decisionsFor(appRequest: unknown): Decisions | undefined {
  const base = expressRequestBase(appRequest)
  if (base === undefined) return undefined
  const shared = (base as { [SHARED]?: unknown })[SHARED]
  if (shared instanceof WeakMap) return shared as Decisions
  if (Object.getOwnPropertyDescriptor(base, 'sec') !== undefined) return undefined
  const decisions: Decisions = new WeakMap()
  Object.defineProperty(base, SHARED, { value: decisions })
  Object.defineProperty(base, 'sec', {
    configurable: true,
    get(this: object) {
      return decisions.get(this)
    },
    set(this: object, value: Decision) {
      decisions.set(this, value)
    },
  })
  return decisions
}

const isObject = (value: unknown): value is object => typeof value === 'object' && value !== null

/**
 * The request prototype every app of this Express shares. Express 4 and 5 make each app's
 * request prototype with an own `app` property, and a mounted app's inherits from its parent
 * app's: the shared one is the first object up the chain without `app`. Defining `sec` there,
 * not on one app's, keeps it visible after a sub-app that ran `sec()` hands the request back.
 */
function expressRequestBase(appRequest: unknown): object | undefined {
  if (!isObject(appRequest) || !Object.hasOwn(appRequest, 'app')) return undefined
  let proto: unknown = appRequest
  while (isObject(proto) && Object.hasOwn(proto, 'app')) proto = Object.getPrototypeOf(proto)
  return isObject(proto) ? proto : undefined
}
