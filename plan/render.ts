// Renders the real program under Pulumi's mock runtime and records every
// resource registration as the engine would receive it: type, logical name,
// inputs, and the options the engine acts on (protect, parent, dependsOn).
// The offline plan, the benchmark and every test go through this one function.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import * as publicSettings from "@pulumi/pulumi/runtime/settings";
import { mocks, resetMockRegions, setExistingRepositories, setPreviousOutputs } from "./mocks";

// Runtime internals the mock harness needs (not in the public typings).
/* eslint-disable @typescript-eslint/no-require-imports */
const settings = require("@pulumi/pulumi/runtime/settings") as typeof publicSettings & {
    setMockOptions(monitor: unknown, project: string, stack: string, preview: boolean, organization?: string): void;
    waitForRPCs(): Promise<void>;
};
const state = require("@pulumi/pulumi/runtime/state") as { getStore(): Record<string, unknown> };

const SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
const ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17";
const ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7";
const OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/**
 * Marks a secret value inside recorded inputs. It prints as SECRET_PLACEHOLDER;
 * a secret map keeps its keys (a Kubernetes Secret's `stringData` still shows
 * which keys it sets, and still has the shape its schema expects) but never a value.
 */
export class Secret {
    constructor(readonly value: unknown) {}
    toJSON(): unknown {
        return mask(this.value);
    }
}

function mask(v: unknown): unknown {
    if (v instanceof Secret) return mask(v.value);
    if (Array.isArray(v)) return v.map(mask);
    if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mask(x)]));
    return SECRET_PLACEHOLDER;
}
/** Marks a value not known until the resource exists (as in a preview). */
export const UNKNOWN_VALUE = "[unknown]";
export const SECRET_PLACEHOLDER = "[secret]";

export interface ResourceOptions {
    readonly protect: boolean;
    readonly retainOnDelete: boolean;
    /** "<type>::<name>" of the parent, or null for a top-level resource. */
    readonly parent: string | null;
    /** Explicit dependencies ("<type>::<name>"), not those implied by inputs. */
    readonly dependsOn: string[];
    readonly provider: string | null;
    readonly ignoreChanges: string[];
    readonly deleteBeforeReplace: boolean;
    /**
     * How many `transforms` the resource was registered with, when it has any.
     * The engine runs them (on this resource and its children, including those a
     * packaged component such as eks:index:Cluster creates); offline they are
     * registered but never run.
     */
    readonly transforms?: number;
}

export interface RecordedResource {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    /** A custom resource (false: a component). */
    readonly custom: boolean;
    /**
     * A component that a provider plugin constructs (a multi-language component
     * such as eks:index:Cluster): its inputs are what that provider receives, so
     * a change to them is a change the engine would act on. Absent: false.
     */
    readonly remote?: boolean;
    /** Looked up with `.get` rather than managed. */
    readonly read: boolean;
    /** Inputs as the provider receives them. Secret values are `Secret` instances. */
    readonly inputs: Record<string, unknown>;
    readonly options: ResourceOptions;
}

export interface Rendered {
    readonly stack: string;
    readonly resources: RecordedResource[];
    readonly outputs: Record<string, unknown>;
}

export interface RenderOptions {
    readonly stack: string;
    /** Full config keys ("candlefish-maturity-map:activeColor") to the string values Pulumi passes. */
    readonly config: Readonly<Record<string, string>>;
    readonly secretKeys?: readonly string[];
    /** The module to run; the program's index by default. */
    readonly program?: string;
    /** The outputs of the stack's last deployment (what a StackReference to itself reads); none by default. */
    readonly previousOutputs?: Record<string, unknown>;
    /** The ECR repositories the account has before the update; by default one per configured service (plan/mocks.ts). */
    readonly ecrRepositories?: readonly string[];
    readonly project?: string;
}

export const DEFAULT_PROGRAM = path.resolve(__dirname, "..", "index");

/** "<type>::<name>" from a URN. */
export function refOf(urn: string): string {
    const parts = urn.split("::");
    const type = parts[2].split("$").pop()!;
    return `${type}::${parts.slice(3).join("::")}`;
}

function decode(v: unknown): unknown {
    if (v === UNKNOWN) return UNKNOWN_VALUE;
    if (Array.isArray(v)) return v.map(decode);
    if (v !== null && typeof v === "object") {
        const o = v as Record<string, unknown>;
        switch (o[SIG]) {
            case SECRET_SIG:
                return new Secret(decode(o.value));
            case RESOURCE_SIG:
                return typeof o.urn === "string" ? refOf(o.urn) : o.urn;
            case OUTPUT_SIG:
                return o.secret ? new Secret(decode(o.value)) : "value" in o ? decode(o.value) : UNKNOWN_VALUE;
            case ASSET_SIG:
            case ARCHIVE_SIG:
                return { path: o.path, text: o.text, uri: o.uri };
        }
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(o)) out[k] = decode(x);
        return out;
    }
    return v;
}

class RecordingMonitor extends MockMonitor {
    readonly recorded: RecordedResource[] = [];

    private record(req: any, read: boolean): void {
        const type: string = req.getType();
        const name: string = req.getName();
        const parentUrn: string = req.getParent();
        const urn =
            "urn:pulumi:" +
            [settings.getStack(), settings.getProject(), parentUrn ? `${parentUrn.split("::")[2]}$${type}` : type, name].join("::");
        let dependsOn: string[] = [];
        if (!read) {
            const implied = new Set<string>();
            req.getPropertydependenciesMap().forEach((deps: any) => deps.getUrnsList().forEach((u: string) => implied.add(u)));
            dependsOn = (req.getDependenciesList() as string[]).filter((u) => !implied.has(u)).map(refOf);
        }
        const provider: string = req.getProvider();
        this.recorded.push({
            type,
            name,
            urn,
            custom: read ? true : req.getCustom(),
            remote: read ? false : Boolean(req.getRemote()),
            read,
            inputs: decode((read ? req.getProperties() : req.getObject())?.toJavaScript() ?? {}) as Record<string, unknown>,
            options: {
                protect: read ? false : Boolean(req.getProtect()),
                retainOnDelete: read ? false : Boolean(req.getRetainondelete()),
                parent: parentUrn ? refOf(parentUrn) : null,
                dependsOn,
                // A provider reference is "<urn>::<id>".
                provider: provider ? refOf(provider.slice(0, provider.lastIndexOf("::"))) : null,
                ignoreChanges: read ? [] : req.getIgnorechangesList(),
                deleteBeforeReplace: read ? false : Boolean(req.getDeletebeforereplace()),
                ...(!read && req.getTransformsList().length ? { transforms: req.getTransformsList().length } : {}),
            },
        });
    }

    override async registerResource(req: any, callback: (err: any, resp: any) => void): Promise<void> {
        this.record(req, false);
        return super.registerResource(req, callback);
    }

    override async readResource(req: any, callback: (err: any, resp: any) => void): Promise<void> {
        this.record(req, true);
        return super.readResource(req, callback);
    }
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * Runs the program once for `stack` with `config` and returns what it
 * registered. Renders are serialized: the Pulumi runtime's state is global.
 */
export function render(opts: RenderOptions): Promise<Rendered> {
    const run = queue.then(() => renderNow(opts));
    queue = run.catch(() => undefined);
    return run;
}

async function renderNow(opts: RenderOptions): Promise<Rendered> {
    const monitor = new RecordingMonitor(mocks);
    // "organization" is what a self-managed (file) backend reports as the organization.
    settings.setMockOptions(monitor, opts.project ?? "candlefish-maturity-map", opts.stack, false, "organization");
    Object.assign(state.getStore(), {
        supportsSecrets: true,
        supportsResourceReferences: true,
        supportsOutputValues: false,
        supportsDeletedWith: true,
        supportsAliasSpecs: true,
        // The engine supports `transforms`; without this the SDK refuses them and the render never settles.
        supportsTransforms: true,
    });
    pulumi.runtime.setAllConfig({ ...opts.config }, [...(opts.secretKeys ?? [])]);
    setPreviousOutputs(opts.previousOutputs);
    resetMockRegions();
    setExistingRepositories(opts.ecrRepositories);

    const program = opts.program ?? DEFAULT_PROGRAM;
    const resolved = require.resolve(program);
    delete require.cache[resolved];
    // The SDK captures `new Error().stack` for every promise and resource (for
    // leak reports and source positions the engine would show). Offline, that
    // formatting is a third of a render, and with --enable-source-maps most of
    // it, so stacks are off while the program runs. PLAN_STACK_TRACES=1 keeps
    // them, to debug a failure inside a component.
    const stackTraceLimit = Error.stackTraceLimit;
    if (!process.env.PLAN_STACK_TRACES) Error.stackTraceLimit = 0;
    try {
        let exports: Record<string, unknown>;
        try {
            // The program may export its outputs directly, or (as Pulumi allows) a promise of them.
            const exported = require(resolved);
            exports = exported instanceof Promise ? await exported : exported;
        } finally {
            // Let whatever was registered before a failure settle, so the next render starts clean.
            await settings.waitForRPCs().catch(() => undefined);
        }
        const outputs: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(exports)) {
            if (k === "__esModule") continue;
            outputs[k] = await resolveOutput(v);
        }
        await settings.waitForRPCs();
        return { stack: opts.stack, resources: monitor.recorded, outputs };
    } finally {
        Error.stackTraceLimit = stackTraceLimit;
    }
}

async function resolveOutput(v: unknown): Promise<unknown> {
    if (!pulumi.Output.isInstance(v) && !(v instanceof Promise)) {
        if (v !== null && typeof v === "object" && !Array.isArray(v) && !pulumi.Resource.isInstance(v)) {
            const o: Record<string, unknown> = {};
            for (const [k, x] of Object.entries(v)) o[k] = await resolveOutput(x);
            return o;
        }
        if (Array.isArray(v)) return Promise.all(v.map(resolveOutput));
        return v;
    }
    const out = pulumi.output(v as pulumi.Input<unknown>);
    const [value, known, secret] = await Promise.all([
        (out as any).promise(true) as Promise<unknown>,
        (out as any).isKnown as Promise<boolean>,
        (out as any).isSecret as Promise<boolean>,
    ]);
    if (!known) return UNKNOWN_VALUE;
    const plain = await resolveOutput(value);
    return secret ? new Secret(plain) : plain;
}

/** Strips Secret wrappers for JSON/YAML output: secrets print as a placeholder. */
export function redact(v: unknown): unknown {
    return JSON.parse(JSON.stringify(v ?? null));
}

/** Unwraps Secret markers, for tests and diffs that must see real values. */
export function reveal(v: unknown): unknown {
    if (v instanceof Secret) return reveal(v.value);
    if (Array.isArray(v)) return v.map(reveal);
    if (v !== null && typeof v === "object") {
        const o: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) o[k] = reveal(x);
        return o;
    }
    return v;
}
