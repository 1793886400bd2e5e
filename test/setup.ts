// Mocha's global set-up (.mocharc.json "require"): before any test runs, the
// testbed's tools are built or found (testbed/tools.js: the Pulumi CLI, our
// Node.js language host, the Kubernetes provider, promtool and amtool, pinned
// and cached in the user cache directory) and put first on PATH for every test
// and every process a test starts. A cold cache builds them from Go modules
// (minutes, with progress lines); a warm one takes a second or two. Without Go
// the run stops here, saying what is missing.
import * as fs from "fs";
import * as path from "path";

interface ToolsModule {
    ensureTools(opts?: { only?: string[]; all?: boolean }): Promise<{ env: Record<string, string>; bin: string; results: { tool: { name: string; version: string }; dir: string; built: boolean }[] }>;
    cacheRoot(): string;
}

function projectRoot(dir: string): string {
    for (let d = dir; ; d = path.dirname(d)) {
        if (fs.existsSync(path.join(d, "Pulumi.yaml")) && fs.existsSync(path.join(d, "testbed", "tools.js"))) return d;
        if (path.dirname(d) === d) throw new Error(`test set-up: no project root (Pulumi.yaml and testbed/tools.js) above ${dir}`);
    }
}

/** Where the tools are, once the set-up has run; the tests read these. */
export const TESTBED_BIN_ENV = "CANDLEFISH_TESTBED_BIN";
export const TESTBED_TOOLS_ENV = "CANDLEFISH_TESTBED_TOOLS";
/** The variables the set-up exported (PATH, PULUMI_HOME, ...), as JSON: a test that changes PATH cannot lose them. */
export const TESTBED_EXPORTS_ENV = "CANDLEFISH_TESTBED_EXPORTS";

export async function mochaGlobalSetup(): Promise<void> {
    const root = projectRoot(__dirname);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const tools = require(path.join(root, "testbed", "tools.js")) as ToolsModule;
    const t0 = Date.now();
    process.stderr.write(
        `[test set-up] the real-CLI, promtool and amtool tests use the testbed's pinned tools: building what is missing ` +
            `into ${tools.cacheRoot()} (node testbed/tools.js; a cold build takes minutes, a warm cache seconds)\n`,
    );
    let res: Awaited<ReturnType<ToolsModule["ensureTools"]>>;
    try {
        res = await tools.ensureTools();
    } catch (e) {
        const err = e as Error & { exitCode?: number };
        throw new Error(`[test set-up] cannot provide the testbed's tools, so no test runs: ${err.message}`);
    }
    for (const [k, v] of Object.entries(res.env)) process.env[k] = v;
    process.env[TESTBED_BIN_ENV] = res.bin;
    process.env[TESTBED_EXPORTS_ENV] = JSON.stringify(res.env);
    process.env[TESTBED_TOOLS_ENV] = JSON.stringify(Object.fromEntries(res.results.map((r) => [r.tool.name, { version: r.tool.version, dir: r.dir }])));
    const list = res.results.map((r) => `${r.tool.name} ${r.tool.version}${r.built ? " (built now)" : ""}`).join(", ");
    process.stderr.write(`[test set-up] tools ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${list}\n`);
}
