// pnpm hooks, read at install time (pnpm records this file's checksum in the lockfile).
//
// valibot (reached through @bull-board/api, the admin UI) declares TypeScript as an optional peer,
// for its types only. pnpm fills an optional peer from the workspace when it can, so the
// production install (`pnpm deploy --prod`, the Docker image) carried the workspace's TypeScript
// 7 and its 27 MB native compiler: 31 MB of the image's 98 MB of node_modules, never loaded at run
// time. Dropping the peer here keeps it out; our own build still uses TypeScript from the root.
module.exports = {
  hooks: {
    readPackage(pkg) {
      if (pkg.name === 'valibot' && pkg.peerDependencies) {
        delete pkg.peerDependencies.typescript;
        if (pkg.peerDependenciesMeta) delete pkg.peerDependenciesMeta.typescript;
      }
      return pkg;
    },
  },
};
