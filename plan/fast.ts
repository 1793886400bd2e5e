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
// Only the command (`run()` in cli.ts) installs these; tests that call main()
// see the SDK unmodified.
import * as path from "path";

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
