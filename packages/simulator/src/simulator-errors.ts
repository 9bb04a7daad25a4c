/** A configuration patch (library call, `--config` file or `POST /__sim/config`) was refused. */
export class SimulatorConfigError extends Error {
  override readonly name = 'SimulatorConfigError';
  readonly code = 'INVALID_CONFIG';
}

/** The command line could not be understood; the project's CLI maps `code: 'USAGE'` to exit 2. */
export class SimulatorUsageError extends Error {
  override readonly name = 'SimulatorUsageError';
  readonly code = 'USAGE';
}
