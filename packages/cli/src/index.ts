export { exitCodeFor, main } from './cli.js';
