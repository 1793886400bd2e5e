// The stack's last deployed promotion state, for the transition rules
// (config/transitions.ts). It is the stack's own `promotionState` output,
// read through a StackReference to this very stack: a read, so it changes
// nothing, and it sees the outputs of the last completed update (a first
// deploy has none, and nothing is judged).
import * as pulumi from "@pulumi/pulumi";
import { PromotionState, parsePromotionState } from "./transitions";

/** The name of the StackReference resource that reads this stack's own outputs. */
export const PREVIOUS_STATE_RESOURCE = "previous-promotion-state";

/** What the last update left: its promotion state (if it completed) and the newest migrated tag per service. */
export interface PreviousDeployment {
    readonly state: PromotionState | undefined;
    /**
     * Per service, the newest (semver) tag whose migration this stack ever ran or
     * started: the stack output `migrationHighWater`. It is written even by a
     * failed update, so a skipped older tag stays skipped after one.
     */
    readonly migrationHighWater: Readonly<Record<string, string>>;
    /**
     * The services the last update ran: its `deployedServices` output (a plain
     * list, so written even by a failed update) and its promotion state's. A
     * platform-phase update (config/bootstrap.ts) keeps these running.
     */
    readonly runningServices: ReadonlySet<string>;
}

export async function previousDeployment(): Promise<PreviousDeployment> {
    const self = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    const ref = new pulumi.StackReference(PREVIOUS_STATE_RESOURCE, { name: self });
    const hw = (await ref.getOutputDetails("migrationHighWater")).value;
    const migrationHighWater: Record<string, string> = {};
    if (hw && typeof hw === "object") for (const [k, v] of Object.entries(hw as Record<string, unknown>)) if (typeof v === "string") migrationHighWater[k] = v;
    const state = await stateOf(ref);
    const deployed = (await ref.getOutputDetails("deployedServices")).value;
    const runningServices = new Set<string>([
        ...(Array.isArray(deployed) ? deployed.filter((x): x is string => typeof x === "string") : []),
        ...Object.keys(state ?? {}),
    ]);
    return { state, migrationHighWater, runningServices };
}

async function stateOf(ref: pulumi.StackReference): Promise<PromotionState | undefined> {
    const details = await ref.getOutputDetails("promotionState");
    const state = parsePromotionState(details.value ?? details.secretValue);
    if (!state && details.value === undefined && details.secretValue === undefined) {
        // Either a first deploy, or the last update failed before every live Service was
        // updated (index.ts then records no promotionState): nothing to judge against.
        pulumi.log.info("no promotionState from a completed deployment of this stack: the transition rules have nothing to judge this update against");
    }
    return state;
}
