// The plan command's hot path (measured by `npm run bench`). @pulumi/pulumi
// loads TypeScript and npm's @npmcli/arborist at startup, for function
// serialization (closures shipped to dynamic providers and lambdas) - about a
// third of the SDK's load time, for code an offline plan never runs. They are
// deferred until first touched, so a program that does serialize a function
// still gets them, loaded on demand.
//
// (The other large cost, the SDK formatting a JavaScript stack for every
// resource and promise, is switched off by plan/render.ts for tests and plan
// alike.) A dynamic resource's provider is not serialized at all: its
// `__provider` input says so (OFFLINE_PROVIDER_TEXT). Only the command
// (scripts/plan.js) installs this, before the SDK loads; tests see the SDK
// unmodified.
import * as path from "path";

/**
 * What a dynamic resource's `__provider` input holds in the offline plan: the
 * engine serializes the provider's code at deploy time; the plan never runs it,
 * and serializing it (TypeScript's parser plus a walk of the closure) was a
 * third of the plan's time once the promotion gates existed (docs/BENCHMARK.md).
 */
export const OFFLINE_PROVIDER_TEXT = "(the dynamic provider's code: serialized by the engine at deploy time, not by the offline plan)";

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

/** Defers the SDK's function-serialization dependencies; call before @pulumi/pulumi loads. */
export function deferUnusedSdkModules(): void {
    if (installed) return;
    installed = true;
    const sdkDir = `${path.sep}@pulumi${path.sep}pulumi${path.sep}`;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Module = require("module") as { _load(request: string, parent: { filename?: string } | undefined, isMain: boolean): unknown };
    const load = Module._load;
    Module._load = function (this: unknown, request, parent, isMain) {
        // pulumi.dynamic.Resource serializes its provider through this module (dynamic/index.js).
        if (request === "../runtime/closure/serializeClosure" && parent?.filename?.includes(`${sdkDir}dynamic${path.sep}`)) {
            return { serializeFunction: async () => ({ text: OFFLINE_PROVIDER_TEXT, containsSecrets: false }) };
        }
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
}
