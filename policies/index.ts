// Entry file of the policy pack: the ONLY place the PolicyPack is constructed,
// because constructing it starts the analyzer's gRPC server (and a second one
// exits the process). Run it with `pulumi preview --policy-pack policies`.
import { PolicyPack } from "@pulumi/policy";
import { PACK_NAME, POLICIES } from "./pack";

new PolicyPack(PACK_NAME, {
    policies: POLICIES,
    // Each policy sets its own level; a policy without one would be advisory.
    enforcementLevel: "advisory",
    description: "Candlefish platform: FSBP controls for EKS/RDS/ElastiCache/ECR/S3/EC2, Pod Security Standards restricted, and the blue/green switch invariants.",
});
