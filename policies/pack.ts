// The pack's policies, in one list, for the two places that evaluate them: the
// PolicyPack server (policies/index.ts, `pulumi preview --policy-pack policies`)
// and the offline evaluator (plan/policy.ts, `npm run plan -- --policy`).
// Importing this module starts nothing; constructing the PolicyPack does.
import { Policies } from "@pulumi/policy";
import { AWS_POLICIES } from "./aws";
import { K8S_POLICIES } from "./kubernetes";
import { BLUE_GREEN_POLICIES } from "./blue-green";

export const PACK_NAME = "candlefish-maturity-map";

export const POLICIES: Policies = [...AWS_POLICIES, ...K8S_POLICIES, ...BLUE_GREEN_POLICIES];
