// How hard the suite attacks. The default fits a CI run of a few minutes on a slow, shared
// 2-core machine; SEC_ATTACK_LONG=1 (`pnpm attack:long`) runs longer and heavier.
export const LONG = process.env.SEC_ATTACK_LONG === '1'

/** Lower and upper bound of a setting: the CI value, then the long-mode value. */
export const pick = <T>(normal: T, long: T): T => (LONG ? long : normal)
