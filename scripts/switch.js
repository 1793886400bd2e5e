#!/usr/bin/env node
// `npm run switch`: the switch with a bake and automatic rollback (switch/,
// docs/SWITCH.md). Transpiles to dist/ only when a source changed, then runs
// dist/switch/cli.js in this same process.
"use strict";
const path = require("path");
const { build, OUT } = require("./build");

try {
    if (build()) process.stderr.write("switch: sources changed; rebuilt dist/\n");
} catch (e) {
    process.stderr.write(`switch: build failed: ${e && e.message ? e.message : e}\n`);
    process.exit(3);
}
require(path.join(OUT, "switch", "cli.js")).run(process.argv.slice(2));
