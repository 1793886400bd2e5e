#!/usr/bin/env node
// npm run --silent testbed -- <command>
//   tools [--all]        build what is missing (--all: the control plane's tools too); print `export` lines
//   up [--cluster-only]  start the local control plane (or find it running); print `export` lines:
//                        the tools' plus KUBECONFIG, PULUMI_CONFIG_PASSPHRASE and PULUMI_BACKEND_URL.
//                        --cluster-only builds just the control plane's tools, not the Pulumi CLI/provider.
//   down                 stop every process `up` started and remove the testbed's data directory
//   status               say whether it runs (exit 0) or not (exit 1)
// Use: eval "$(npm run --silent testbed -- up)". Progress goes to stderr; stdout has only the exports.
// The data directory is $TESTBED_DIR, else <user cache>/candlefish-testbed/cluster.
"use strict";
const tools = require("./tools.js");

/**
 * PATH as a shell should take it: without the entries `npm run` put in front for this script
 * (node_modules/.bin, npm's node-gyp-bin) and without repeats, so that eval'ing the output
 * again and again leaves PATH as it was after the first time.
 */
function tidyPath(value) {
    const npmAdded = (dir) => /[\\/]node_modules[\\/]\.bin$/.test(dir) || /[\\/]@npmcli[\\/]run-script[\\/]lib[\\/]node-gyp-bin$/.test(dir);
    const seen = new Set();
    return value.split(":").filter((dir, i) => {
        if (!dir || seen.has(dir) || (i > 0 && process.env.npm_lifecycle_event && npmAdded(dir))) return false;
        seen.add(dir);
        return true;
    }).join(":");
}

const print = (env) => {
    for (const [k, v] of Object.entries(env)) process.stdout.write(`export ${k}=${tools.shellQuote(k === "PATH" ? tidyPath(v) : v)}\n`);
};

async function main(argv) {
    const [cmd, ...rest] = argv;
    switch (cmd) {
    case "tools": {
        const { env } = await tools.ensureTools({ all: rest.includes("--all") });
        print(env);
        return 0;
    }
    case "up": {
        const { env } = await require("./lib/cluster.js").up({ clusterOnly: rest.includes("--cluster-only") });
        print(env);
        return 0;
    }
    case "down":
        await require("./lib/cluster.js").down();
        return 0;
    case "status": {
        const s = await require("./lib/cluster.js").status();
        process.stderr.write(s.running
            ? `[testbed] running in ${s.dataDir} (api server https://127.0.0.1:${s.state.ports.apiserver}, started ${s.state.startedAt})\n`
            : `[testbed] not running (${s.dataDir})\n`);
        return s.running ? 0 : 1;
    }
    default:
        process.stderr.write("usage: npm run --silent testbed -- tools [--all] | up [--cluster-only] | down | status\n");
        return 2;
    }
}

main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
    process.stderr.write(`[testbed] ${e.message}\n`);
    process.exit(e.exitCode || 1);
});
