/** Exit codes: the contract scripts and CI rely on. */
export const EXIT_OK = 0
/** The policy or the cases failed: check problems, test failures, replay changes (--fail-on-change). */
export const EXIT_FAIL = 1
/** The command could not run as asked: bad arguments, unreadable files, malformed input files. */
export const EXIT_USAGE = 2

/**
 * An error meant for the user: printed as one line (`sec: <message>`) with its exit code, never
 * with a stack trace.
 */
export class CliError extends Error {
  readonly exitCode: number
  constructor(message: string, exitCode: number = EXIT_USAGE) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}

/** A usage error: wrong command, option or argument. */
export const usage = (message: string): CliError => new CliError(message, EXIT_USAGE)
