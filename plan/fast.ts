// The plan command's hot path (measured by `npm run bench`). Two things the
// Pulumi SDK does on every run cost a plan more than the program itself, and
// the offline plan never uses their results:
//
// 1. Loading code it will not run. @pulumi/pulumi loads TypeScript and npm's
//    @npmcli/arborist at startup for function serialization (closures shipped
//    to dynamic providers and lambdas) - about a third of the SDK's load time.
//    They are deferred until first touched, so a program that does serialize a
//    function still gets them, loaded on demand.
// 2. Formatting JavaScript stacks: one for every resource (its source
//    position, which only the engine's UI shows; the mock engine ignores it)
//    and one for every internal promise (kept for a "leaked promise" message,
//    whose check still runs, only without stacks).
//
// 3. Compiling the SDKs from source on every run. V8's code cache for each
//    SDK module is kept in node_modules/.cache/candlefish-plan (keyed by file
//    name and content; V8 rejects a stale or corrupt entry and recompiles).
//    CANDLEFISH_PLAN_CODE_CACHE=0 turns it off (the benchmark reports both).
//
// Only the command (scripts/plan.js) installs these; tests that call main()
// see the SDK unmodified.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as vm from "vm";

/** Modules @pulumi/pulumi requires eagerly but only function serialization uses. */
const DEFERRED = new Set(["typescript", "@npmcli/arborist"]);

/** A module object that loads the real module the first time anything reads it. */
function lazyModule(load: () => any): any {
    let real: any;
    const get = () => (real ??= load());
    return new Proxy(
        {},
        {
            // TypeScript's __importStar returns an __esModule object as is, without enumerating it.
            get: (_t, k) => (k === "__esModule" && real === undefined ? true : Reflect.get(get(), k)),
            has: (_t, k) => k in get(),
            ownKeys: () => Reflect.ownKeys(get()),
            getOwnPropertyDescriptor: (_t, k) => {
                const d = Reflect.getOwnPropertyDescriptor(get(), k);
                return d && { ...d, configurable: true };
            },
        },
    );
}

let installed = false;

export function installFastPaths(): void {
    if (installed) return;
    installed = true;
    const sdkDir = `${path.sep}@pulumi${path.sep}pulumi${path.sep}`;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Module = require("module") as { _load(request: string, parent: { filename?: string } | undefined, isMain: boolean): unknown };
    const load = Module._load;
    Module._load = function (this: unknown, request, parent, isMain) {
        if (DEFERRED.has(request) && parent?.filename?.includes(sdkDir)) {
            try {
                // Defer only what exists: a missing module must fail where the SDK expects it (it has fallbacks).
                require.resolve(request, { paths: [path.dirname(parent.filename)] });
                return lazyModule(() => load.call(this, request, parent, isMain));
            } catch {
                /* not installed: load normally */
            }
        }
        return load.call(this, request, parent, isMain);
    };

    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pulumi = require("@pulumi/pulumi") as { Resource: { callsites(): unknown[] } };
    pulumi.Resource.callsites = () => [];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const debuggable = require("@pulumi/pulumi/runtime/debuggable") as {
        debuggablePromise: (p: Promise<unknown>, ctx: unknown) => Promise<unknown>;
    };
    const original = debuggable.debuggablePromise;
    debuggable.debuggablePromise = (p, ctx) => {
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 0;
        try {
            return original(p, ctx);
        } finally {
            Error.stackTraceLimit = limit;
        }
    };
}

interface CjsModule {
    exports: unknown;
    require(id: string): unknown;
}
interface ModuleStatics {
    prototype: { _compile(this: CjsModule, content: string, filename: string): unknown };
    wrap(content: string): string;
    _resolveFilename(request: string, parent: CjsModule, isMain: boolean, options?: unknown): string;
    _resolveLookupPaths(request: string, parent: CjsModule): string[] | null;
    _extensions: unknown;
    _cache: unknown;
}

/**
 * Compiles CommonJS modules under node_modules through vm.Script with V8's
 * cached data, as Node's own loader would compile them otherwise; new or
 * rejected entries are written at exit (after the run, so the functions the
 * plan executed are in the cache too).
 */
export function installCodeCache(dir: string): boolean {
    const loader = (vm as unknown as { constants?: { USE_MAIN_CONTEXT_DEFAULT_LOADER?: symbol } }).constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER;
    if (process.env.CANDLEFISH_PLAN_CODE_CACHE === "0" || loader === undefined) return false;
    try {
        fs.mkdirSync(dir, { recursive: true });
    } catch {
        return false; // read-only checkout: run uncached
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Module = require("module") as ModuleStatics;
    const compile = Module.prototype._compile;
    const nodeModules = `${path.sep}node_modules${path.sep}`;
    const fresh: [string, vm.Script][] = [];
    Module.prototype._compile = function (content, filename) {
        if (!filename.includes(nodeModules) || content.startsWith("#!")) return compile.call(this, content, filename);
        const file = path.join(dir, crypto.createHash("sha1").update(filename).update("\0").update(content).digest("hex"));
        let cachedData: Buffer | undefined;
        try {
            cachedData = fs.readFileSync(file);
        } catch {
            /* not cached yet */
        }
        const script = new vm.Script(Module.wrap(content), { filename, cachedData, importModuleDynamically: loader as never });
        if (!cachedData || script.cachedDataRejected) fresh.push([file, script]);
        const fn = script.runInThisContext({ displayErrors: true }) as (...a: unknown[]) => unknown;
        // The `require` Node gives a module (lib/internal/modules/helpers.js makeRequireFunction).
        const mod = this;
        const req = Object.assign((id: string) => mod.require(id), {
            resolve: Object.assign((request: string, options?: unknown) => Module._resolveFilename(request, mod, false, options), {
                paths: (request: string) => Module._resolveLookupPaths(request, mod),
            }),
            main: require.main,
            extensions: Module._extensions,
            cache: Module._cache,
        });
        return fn.call(mod.exports, mod.exports, req, mod, filename, path.dirname(filename));
    };
    process.on("exit", () => {
        for (const [file, script] of fresh) {
            try {
                const tmp = `${file}.${process.pid}.tmp`;
                fs.writeFileSync(tmp, script.createCachedData());
                fs.renameSync(tmp, file); // atomic: concurrent plans never read half an entry
            } catch {
                /* a cache that cannot be written only costs speed */
            }
        }
    });
    return true;
}
