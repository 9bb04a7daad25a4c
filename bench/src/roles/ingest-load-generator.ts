/**
 * The single scenario's load generator: a child process that starts the two ingest processes,
 * loads them and measures them (scenarios/single/ingest-modes.ts), so that its heap and CPU are
 * its own. One command (over IPC): `run`, answered with the scenario's report; progress lines go
 * to the harness as they come.
 */
import { rpcLog, serveRpc } from '../child-rpc.js';
import { measureIngestModes } from '../scenarios/single/ingest-modes.js';
import type { SingleRun } from '../scenarios/single/single-scenario.js';

serveRpc({
  run: (run: SingleRun) => measureIngestModes(run.settings, { ...run.context, log: rpcLog }),
});
