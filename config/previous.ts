// The stack's last deployed promotion state, for the transition rules
// (config/transitions.ts). It is the stack's own `promotionState` output,
// read through a StackReference to this very stack: a read, so it changes
// nothing, and it sees the outputs of the last completed update (a first
// deploy has none, and nothing is judged).
import * as pulumi from "@pulumi/pulumi";
import { PromotionState, parsePromotionState } from "./transitions";

/** The name of the StackReference resource that reads this stack's own outputs. */
export const PREVIOUS_STATE_RESOURCE = "previous-promotion-state";

export async function previousPromotionState(): Promise<PromotionState | undefined> {
    const self = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    const ref = new pulumi.StackReference(PREVIOUS_STATE_RESOURCE, { name: self });
    const details = await ref.getOutputDetails("promotionState");
    return parsePromotionState(details.value ?? details.secretValue);
}
