// The layering of src/ (docs/architecture.md, "## Layers"), checked by
// test/unit/architecture/layers.test.ts through dependency-cruiser's cruise(). A module may
// import its own layer and the layers below it, never one above; a few pairs are forbidden
// even though the order would allow them (named rules below). No cycles anywhere, type-only
// imports included.

/** Bottom to top: each entry is one layer, a list of the folders (or files) under src/ in it. */
const LAYERS = [
  ['errors.ts', 'names.ts', 'replica-key.ts', 'zod.ts', 'sys'], // leaves: usable by every layer, importing none of the others
  ['spec'], // compose files → Project
  ['planner'], // (Project, LiveState) → Plan: pure
  ['export'], // Project → Kubernetes manifests (`stack export kube`): reads only the spec
  ['runtime', 'network', 'state', 'image'], // the host: processes, views, cgroups; links, firewall; records; images
  ['executor', 'build'], // walks a Plan through its handlers; builds images from Dockerfiles
  ['supervisor', 'watch'], // the long-running processes
  ['cli'], // commands
];

const path = (entries) => `^src/(${entries.map((e) => e.replaceAll('.', '\\.')).join('|')})($|/)`;

/** One rule per layer: nothing in it imports a layer above it. */
const upward = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `layer-${layer.join('+').replaceAll('.ts', '')}`,
  comment: `${layer.join(', ')} must not import a layer above it (${LAYERS.slice(i + 1).flat().join(', ')})`,
  severity: 'error',
  from: { path: path(layer) },
  to: { path: path(LAYERS.slice(i + 1).flat()) },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'no import cycle anywhere (type-only imports count)',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...upward,
    {
      name: 'leaves-import-no-layer',
      comment: 'errors, names, zod and sys import nothing of src/ but each other',
      severity: 'error',
      from: { path: path(LAYERS[0]) },
      to: { path: '^src/', pathNot: path(LAYERS[0]) },
    },
    {
      name: 'supervisor-not-executor',
      comment: 'the supervisor uses the runtime, never the executor (the executor starts it through src/executor/supervisor.ts)',
      severity: 'error',
      from: { path: '^src/supervisor/' },
      to: { path: '^src/executor/' },
    },
    {
      name: 'runtime-not-watch',
      comment: 'the runtime, network, state and image layers never reach up to watch either',
      severity: 'error',
      from: { path: path(['runtime', 'network', 'state', 'image']) },
      to: { path: '^src/(watch|supervisor)/' },
    },
    {
      name: 'runtime-through-its-api',
      comment: 'outside src/runtime, the runtime is used through its API: src/runtime/index.ts, or src/runtime/control.ts for what acts on services that run already',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/runtime/' },
      to: { path: '^src/runtime/', pathNot: '^src/runtime/(index|control)\\.ts$' },
    },
    {
      name: 'planner-no-io',
      comment: 'the planner is pure: no file, network, process or OS access',
      severity: 'error',
      from: { path: '^src/planner/' },
      to: { dependencyTypes: ['core'], path: '^(node:)?(fs|fs/promises|net|dgram|os|child_process|cluster|worker_threads|http|https|dns|readline|tty|process)$' },
    },
    {
      name: 'planner-no-native',
      comment: 'the planner loads no native code (koffi) and no npm module that does I/O',
      severity: 'error',
      from: { path: '^src/planner/' },
      to: { path: 'node_modules/(koffi|execa|chokidar)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js'] },
  },
};
