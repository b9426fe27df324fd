// The import rules between the folders of src/ (docs/architecture.md explains them).
// `npm run lint` runs `depcruise src`; test/unit/layers.test.ts proves that a wrong-direction
// import fails it. Type-only imports count: a type pulls its folder's meaning along.

/** One rule: files under `from` may not import files matching `to`. */
function forbid(name, comment, from, to, extra = {}) {
  return {
    name,
    comment,
    severity: 'error',
    from: { path: from, ...(extra.fromNot ? { pathNot: extra.fromNot } : {}) },
    to: { path: to, ...(extra.toNot ? { pathNot: extra.toNot } : {}) },
  };
}

// Files of src/ that are not in a folder of their own.
const ROOT = '^src/(runtime|main|cli|demo|index|v8-flags|oauth-setup)\\.ts$';

module.exports = {
  forbidden: [
    forbid(
      'tools-not-to-infrastructure',
      'Tools see the broker through the Backend interface: no backend, gateway process or simulator.',
      '^src/tools/',
      '^src/(backends|gateway|simulator)/',
    ),
    forbid(
      'mcp-to-tools-via-registry',
      'The MCP layer reaches the tools through their registry module (src/tools/index.ts) only.',
      '^src/mcp/',
      '^src/tools/',
      { toNot: '^src/tools/index\\.ts$' },
    ),
    forbid(
      'tools-not-to-mcp',
      'Tools are plain data the MCP layer registers; they do not know the MCP layer (no folder cycle).',
      '^src/tools/',
      '^src/mcp/',
    ),
    forbid(
      'safety-decides-alone',
      'Safety decides about orders from domain facts: no backend, gateway, tool or MCP code.',
      '^src/safety/',
      '^src/(backends|gateway|tools|mcp)/',
    ),
    forbid(
      'broker-is-the-core',
      'The broker domain (types, Backend interface, arithmetic) imports nothing of ours but itself and log.',
      '^src/broker/',
      '^src/',
      { toNot: '^src/(broker/|log\\.ts$)' },
    ),
    forbid(
      'cpapi-is-a-backend',
      "The CPAPI backend implements broker's Backend; it knows nothing of tools, MCP, safety, gateway or simulator.",
      '^src/backends/',
      '^src/(tools|mcp|safety|gateway|simulator)/',
    ),
    forbid(
      'simulator-stands-alone',
      "The simulator shares no logic with the client: only its own files (and Node/npm packages).",
      '^src/simulator/',
      '^src/',
      { toNot: '^src/simulator/' },
    ),
    forbid(
      'client-not-to-simulator',
      'Only the composition root (runtime, main) starts the simulator.',
      '^src/(tools|mcp|safety|broker|backends|gateway|config|chart)/',
      '^src/simulator/',
    ),
    forbid(
      'gateway-not-to-upper-layers',
      'The gateway runs the process and the login; it is handed what it needs (runtime.ts wires it).',
      '^src/gateway/',
      `^src/(tools|mcp|safety|backends)/|${ROOT}`,
    ),
    forbid(
      'config-is-a-leaf',
      'Configuration imports nothing of ours except log.',
      '^src/config/',
      '^src/',
      { toNot: '^src/(config/|log\\.ts$)' },
    ),
    forbid(
      'chart-draws-domain-data',
      'Charts draw broker data; they know nothing of the layers above.',
      '^src/chart/',
      '^src/',
      { toNot: '^src/(chart/|broker/|log\\.ts$)' },
    ),
    forbid(
      'log-is-a-leaf',
      'The logger imports nothing of ours.',
      '^src/log\\.ts$',
      '^src/',
      { toNot: '^src/log\\.ts$' },
    ),
    forbid(
      'nothing-up-to-the-root',
      'runtime.ts, main.ts, cli.ts and demo.ts compose the layers: nothing below imports them (tools, mcp and safety see the App type).',
      '^src/(broker|backends|gateway|config|chart|simulator|log)',
      ROOT,
    ),
    forbid(
      'root-not-to-mcp-from-runtime',
      'runtime.ts builds the App the MCP layer serves; it does not import that layer (no cycle).',
      '^src/runtime\\.ts$',
      '^src/(mcp|tools|safety)/',
    ),
    {
      name: 'no-folder-cycles',
      comment: 'No import cycle between folders.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
