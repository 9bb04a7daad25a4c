// Loaded into a process under test with NODE_OPTIONS=--import=<this file>. It notes the own
// properties of the built-in prototypes before the program runs; on SIGUSR2 it prints, as one JSON
// line, those added since: anything there means an input polluted a prototype in that process.
const prototypes = {
  Object: Object.prototype,
  Array: Array.prototype,
  Function: Function.prototype,
  String: String.prototype,
  Number: Number.prototype,
  Boolean: Boolean.prototype,
  Promise: Promise.prototype,
};
const before = Object.fromEntries(
  Object.entries(prototypes).map(([name, proto]) => [name, new Set(Reflect.ownKeys(proto))]),
);

process.on('SIGUSR2', () => {
  const added = {};
  for (const [name, proto] of Object.entries(prototypes)) {
    const extra = Reflect.ownKeys(proto)
      .filter((key) => !before[name].has(key))
      .map(String);
    if (extra.length > 0) added[name] = extra;
  }
  process.stdout.write(`${JSON.stringify({ probe: 'prototypes', added })}\n`);
});
