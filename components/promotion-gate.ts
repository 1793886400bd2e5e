// The promotion gate: before any live Service selector changes in a
// `pulumi up`, the color it is about to select is checked against the
// cluster's live state (components/gate-runtime.ts says what "ready" means).
//
// Why a dynamic provider (the reasoning is in docs/PROMOTION.md):
//   - the engine gives a resource a step only when its provider's Diff says
//     so, and an unchanged resource gets none (pulumi step_generator.go,
//     stepGenerator.diff); the Kubernetes provider patches first and awaits
//     afterwards. So readiness must be checked by a resource of its own that
//     runs *before* the Service's step: `<svc>-gate-<color>`, which every live
//     Service depends on.
//   - the gate is named after the color it admits, so a flip creates a new
//     gate (the check runs) and an edit that does not flip leaves it alone.
//     Its Diff also reads the live Service: if the cluster does not yet
//     select the gate's color (an earlier `up` failed or was killed after the
//     gate passed), it reports a change and the check runs again.
//   - it reads status with the stack's own Kubernetes credentials, from the
//     machine that runs `pulumi up`, so the decision runs for real on a
//     cluster with no container runtime (the testbed), where a check inside
//     a pod could only be faked.
import * as pulumi from "@pulumi/pulumi";
import { GateInputs, liveSelectorColor, runGate } from "./gate-runtime";

/** The promotion gate's settings (config key `promotion`). */
export interface PromotionSettings {
    /** How long every target pod must have been Ready with no restart. */
    readonly settleSeconds: number;
    /** How long a gate waits before it fails the update. */
    readonly timeoutSeconds: number;
    /** Seconds between looks at the cluster. */
    readonly pollSeconds: number;
}

/** How the gate reaches the cluster: the same kubeconfig the stack's Kubernetes provider uses. */
export interface ClusterAccess {
    readonly kubeconfig: pulumi.Input<string>;
    readonly context?: string;
}

// Only the gate-runtime functions are captured: Pulumi serializes this
// object (and what it references) into the state of every gate.
const gateProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: GateInputs) {
        const r = await runGate(inputs, (m) => console.log(m));
        return { id: `${inputs.namespace}/${inputs.service}/${inputs.color}`, outs: { ...inputs, passedAfterSeconds: r.seconds } };
    },
    async diff(_id: string, olds: GateInputs, news: GateInputs) {
        const keys: (keyof GateInputs)[] = ["service", "namespace", "color", "deployment", "liveService"];
        const changed = keys.filter((k) => olds[k] !== news[k]);
        if (changed.length) return { changes: true, replaces: changed as string[] };
        // Same color as last time: check again only if the cluster does not select it yet.
        let live: string | undefined;
        try {
            live = await liveSelectorColor(news);
        } catch {
            // Unreachable cluster: nothing to gate against; the Service's own step would fail too.
            return { changes: false };
        }
        return live === undefined || live === news.color ? { changes: false } : { changes: true };
    },
    async update(_id: string, _olds: GateInputs, news: GateInputs) {
        const r = await runGate(news, (m) => console.log(m));
        return { outs: { ...news, passedAfterSeconds: r.seconds } };
    },
    async delete() {
        // The gate owns nothing in the cluster.
    },
};

export interface PromotionGateArgs {
    readonly service: string;
    readonly namespace: pulumi.Input<string>;
    /** The color the live Service is about to select. */
    readonly color: string;
    readonly previousColor: string;
    readonly deployment: string;
    readonly liveService: string;
    readonly settings: PromotionSettings;
    readonly cluster: ClusterAccess;
}

/** `<svc>-gate-<color>`: created (and so checked) whenever `<svc>-service` is about to select `color`. */
export class PromotionGate extends pulumi.dynamic.Resource {
    constructor(name: string, args: PromotionGateArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            gateProvider,
            name,
            {
                service: args.service,
                namespace: args.namespace,
                color: args.color,
                previousColor: args.previousColor,
                deployment: args.deployment,
                liveService: args.liveService,
                settleSeconds: args.settings.settleSeconds,
                timeoutSeconds: args.settings.timeoutSeconds,
                pollSeconds: args.settings.pollSeconds,
                kubeconfig: pulumi.secret(args.cluster.kubeconfig),
                kubeContext: args.cluster.context,
            },
            // A gate that waits longer than its own timeout is a bug: bound it anyway.
            { ...opts, customTimeouts: { create: `${args.settings.timeoutSeconds + 60}s`, update: `${args.settings.timeoutSeconds + 60}s` } },
            "candlefish",
        );
    }
}

/**
 * The gates of one `pulumi up`, shared by every service: each live Service
 * depends on all of them, so services flipping together move together or
 * not at all. `seal()` once every service has added its gate.
 */
export class PromotionGates {
    private readonly gates: PromotionGate[] = [];
    private sealed = false;
    private resolveAll!: (g: PromotionGate[]) => void;
    /** Every gate of the stack; resolves when sealed. */
    readonly all: Promise<PromotionGate[]> = new Promise((r) => (this.resolveAll = r));

    constructor(
        readonly settings: PromotionSettings,
        readonly cluster: ClusterAccess,
    ) {}

    add(gate: PromotionGate): void {
        if (this.sealed) throw new Error("PromotionGates: a gate was added after seal()");
        this.gates.push(gate);
    }

    seal(): void {
        this.sealed = true;
        this.resolveAll([...this.gates]);
    }
}
