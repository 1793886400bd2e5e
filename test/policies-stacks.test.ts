// The pack over the real program: production and staging, rendered under the
// shared mocks, pass with zero mandatory violations; an insecure variant of each
// resource kind the program declares is caught; config edits that would make
// the switch unsafe are caught from the stack file alone.
import { strict as assert } from "assert";
import { RecordedResource, Rendered, Secret, UNKNOWN_VALUE } from "../plan/render";
import { PolicyReport, evaluatePolicies } from "../plan/policy";
import { POLICIES } from "../policies/pack";
import { K8S } from "../policies/lib";
import { ofType, renderBoth, renderStack } from "./harness";
import { set, withOptions } from "./policy-fixtures";

const mandatory = (r: PolicyReport) => r.violations.filter((v) => v.level === "mandatory");

describe("policy pack over the rendered stacks", function () {
    this.timeout(120000);
    let prod: Rendered;
    let staging: Rendered;
    before(async () => {
        ({ prod, staging } = await renderBoth());
    });

    for (const stack of ["production", "staging"]) {
        it(`${stack} passes with zero mandatory violations, all ${POLICIES.length} policies evaluated`, async () => {
            const report = await evaluatePolicies(stack === "production" ? prod : staging);
            assert.equal(report.policies, POLICIES.length);
            assert.deepEqual(mandatory(report), []);
        });
    }

    it("the report is exactly {policies, violations[{policy, level, type, name, message}]} (the plan --policy --json contract)", async () => {
        const report = await evaluatePolicies(prod, { config: { all: "mandatory" } });
        const json = JSON.parse(JSON.stringify(report));
        assert.deepEqual(Object.keys(json), ["policies", "violations"]);
        assert.equal(json.policies, POLICIES.length);
        for (const v of json.violations) {
            assert.deepEqual(Object.keys(v), ["policy", "level", "type", "name", "message"]);
            assert.equal(v.level, "mandatory");
            assert.ok(prod.resources.some((r) => r.type === v.type && r.name === v.name), `${v.type} ${v.name} is a rendered resource`);
        }
    });

    it("flipping activeColor (the runbook switch) keeps production free of mandatory violations", async () => {
        assert.deepEqual(mandatory(await evaluatePolicies(await renderStack("production", ["activeColor=green"]))), []);
    });

    it("a live color scaled to 1 replica in production is caught (config accepts it; the policy holds production to 2)", async () => {
        const report = await evaluatePolicies(await renderStack("production", ["services.rtpm-api.blue.replicas=1"]));
        assert.deepEqual(
            mandatory(report).map((v) => [v.policy, v.type, v.name]),
            [["bluegreen-live-service-selects-ready-color", K8S.Deployment, "rtpm-api-blue"]],
        );
        assert.match(mandatory(report)[0].message, /production\/rtpm-api-blue is live with 1 replica\(s\); at least 2 required in production/);
        // The same edit in staging is fine: one replica is enough there.
        assert.deepEqual(mandatory(await evaluatePolicies(await renderStack("staging", ["services.rtpm-api.green.replicas=1"]))), []);
    });

    /** A first preview: every ARN and ID comes from a resource not created yet, so it is unknown. */
    const firstPreview = (r: RecordedResource): RecordedResource => {
        const unknown = (v: unknown): unknown => {
            if (v instanceof Secret) return new Secret(unknown(v.value));
            if (typeof v === "string" && (/^arn:/.test(v) || /-id$/.test(v) || /^sg-/.test(v))) return UNKNOWN_VALUE;
            if (Array.isArray(v)) return v.map(unknown);
            if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unknown(x)]));
            return v;
        };
        return { ...r, inputs: unknown(r.inputs) as Record<string, unknown> };
    };

    it("a first preview (every ARN and ID unknown) passes with zero mandatory violations and no policy that cannot run", async () => {
        const resources = prod.resources.map(firstPreview);
        assert.ok(resources.filter((r, i) => JSON.stringify(r.inputs) !== JSON.stringify(prod.resources[i].inputs)).length > 30, "the preview has unknowns");
        const report = await evaluatePolicies({ ...prod, resources });
        assert.deepEqual(mandatory(report), []);
        assert.deepEqual(report.violations.filter((v) => v.message.includes("can't run")), []);
    });

    it("in a first preview an insecure setting is still caught (a public DB whose KMS key ARN is unknown)", async () => {
        const resources = prod.resources.map((r) => firstPreview(r.type === "aws:rds/instance:Instance" ? set(r, "publiclyAccessible", true) : r));
        assert.deepEqual(mandatory(await evaluatePolicies({ ...prod, resources })).map((v) => [v.policy, v.type]), [["rds-not-publicly-accessible", "aws:rds/instance:Instance"]]);
    });

    /** One insecure edit per resource kind, and the mandatory policy that must catch it. */
    const VARIANTS: { type: string; name?: (r: RecordedResource) => boolean; policy: string; mutate: (r: RecordedResource) => RecordedResource }[] = [
        { type: "eks:index:Cluster", policy: "eks-endpoint-not-public", mutate: (r) => set(set(r, "endpointPublicAccess", true), "publicAccessCidrs", undefined) },
        { type: "eks:index:Cluster", policy: "eks-secrets-kms-encryption", mutate: (r) => set(r, "encryptionConfigKeyArn", undefined) },
        { type: "aws:ec2/launchTemplate:LaunchTemplate", policy: "ec2-imdsv2-required", mutate: (r) => set(r, "metadataOptions.httpTokens", "optional") },
        { type: "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", policy: "ec2-default-security-group-closed", mutate: (r) => set(r, "ingress", [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }]) },
        { type: "aws:ec2/subnet:Subnet", name: (r) => r.name.includes("private"), policy: "ec2-subnet-no-auto-public-ip", mutate: (r) => set(r, "mapPublicIpOnLaunch", true) },
        { type: "aws:ec2/securityGroup:SecurityGroup", policy: "ec2-no-unrestricted-ingress", mutate: (r) => set(r, "ingress.0.cidrBlocks", ["0.0.0.0/0"]) },
        { type: "aws:rds/instance:Instance", policy: "rds-not-publicly-accessible", mutate: (r) => set(r, "publiclyAccessible", true) },
        { type: "aws:rds/instance:Instance", policy: "rds-storage-encrypted", mutate: (r) => set(r, "storageEncrypted", false) },
        { type: "aws:rds/instance:Instance", policy: "rds-multi-az-production", mutate: (r) => set(r, "multiAz", false) },
        { type: "aws:rds/instance:Instance", policy: "rds-backup-retention", mutate: (r) => set(r, "backupRetentionPeriod", 1) },
        { type: "aws:rds/instance:Instance", policy: "rds-final-snapshot", mutate: (r) => set(r, "skipFinalSnapshot", true) },
        { type: "aws:rds/instance:Instance", policy: "stateful-resources-protected", mutate: (r) => withOptions(r, { protect: false }) },
        { type: "aws:rds/parameterGroup:ParameterGroup", policy: "rds-force-ssl", mutate: (r) => set(r, "parameters", []) },
        { type: "aws:elasticache/replicationGroup:ReplicationGroup", policy: "elasticache-encryption-in-transit", mutate: (r) => set(r, "transitEncryptionEnabled", false) },
        { type: "aws:elasticache/replicationGroup:ReplicationGroup", policy: "elasticache-encryption-at-rest", mutate: (r) => set(r, "atRestEncryptionEnabled", false) },
        { type: "aws:elasticache/replicationGroup:ReplicationGroup", policy: "elasticache-automatic-backups", mutate: (r) => set(r, "snapshotRetentionLimit", 0) },
        { type: "aws:ecr/repository:Repository", policy: "ecr-immutable-tags", mutate: (r) => set(r, "imageTagMutability", "MUTABLE") },
        { type: "aws:s3/bucket:Bucket", policy: "stateful-resources-protected", mutate: (r) => withOptions(r, { protect: false }) },
        { type: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", policy: "s3-public-access-blocked", mutate: (r) => set(r, "restrictPublicBuckets", false) },
        { type: "aws:s3/bucketPolicy:BucketPolicy", policy: "s3-ssl-only", mutate: (r) => set(r, "policy", JSON.stringify({ Version: "2012-10-17", Statement: [] })) },
        { type: "aws:s3/bucketVersioning:BucketVersioning", policy: "s3-versioning", mutate: (r) => set(r, "versioningConfiguration.status", "Suspended") },
        { type: "aws:secretsmanager/secret:Secret", policy: "stateful-resources-protected", mutate: (r) => withOptions(r, { protect: false }) },
        { type: "aws:kms/key:Key", policy: "stateful-resources-protected", mutate: (r) => withOptions(r, { protect: false }) },
        { type: K8S.Deployment, policy: "k8s-no-privilege-escalation", mutate: (r) => set(r, "spec.template.spec.containers.0.securityContext.privileged", true) },
        { type: K8S.Deployment, policy: "k8s-run-as-non-root", mutate: (r) => set(set(r, "spec.template.spec.securityContext.runAsNonRoot", false), "spec.template.spec.containers.0.securityContext.runAsNonRoot", undefined) },
        // The inactive color: a live one with a moving tag also (rightly) fails bluegreen-live-service-selects-ready-color.
        { type: K8S.Deployment, name: (r) => r.name === "rtpm-api-green", policy: "k8s-image-tag-pinned", mutate: (r) => set(r, "spec.template.spec.containers.0.image", "nginx:latest") },
        { type: K8S.Job, policy: "k8s-seccomp-runtime-default", mutate: (r) => set(set(r, "spec.template.spec.securityContext.seccompProfile", undefined), "spec.template.spec.containers.0.securityContext.seccompProfile", undefined) },
        { type: K8S.Service, name: (r) => r.name === "rtpm-api-service", policy: "bluegreen-live-service-selects-ready-color", mutate: (r) => set(r, "spec.selector.version", "purple") },
        { type: K8S.Service, name: (r) => r.name === "rtpm-api-preview", policy: "bluegreen-preview-selects-other-color", mutate: (r) => set(r, "spec.selector.version", "blue") },
        { type: K8S.Service, name: (r) => r.name === "rtpm-api-service", policy: "bluegreen-live-service-depends-on-deployment", mutate: (r) => withOptions(r, { dependsOn: [] }) },
        { type: K8S.Ingress, policy: "k8s-ingress-tls", mutate: (r) => set(r, "spec.tls", undefined) },
    ];

    for (const v of VARIANTS) {
        it(`an insecure ${v.type.split(":").pop()} is caught by ${v.policy}`, async () => {
            const targets = ofType(prod, v.type).filter(v.name ?? (() => true));
            assert.ok(targets.length >= 1, `production declares a ${v.type}`);
            const target = targets[0];
            const resources = prod.resources.map((r) => (r === target ? v.mutate(r) : r));
            const report = await evaluatePolicies({ ...prod, resources });
            const hits = mandatory(report).filter((x) => x.policy === v.policy);
            assert.ok(hits.length >= 1, `${v.policy} did not fire: ${JSON.stringify(mandatory(report))}`);
            assert.ok(hits.some((x) => x.type === target.type && x.name === target.name) || hits.every((x) => x.type !== "pulumi:pulumi:Stack"));
            assert.deepEqual(
                mandatory(report).filter((x) => x.policy !== v.policy).map((x) => x.policy),
                [],
                "only the broken rule fires",
            );
        });
    }

    it("removing the app namespace's NetworkPolicies or a Deployment's color is caught", async () => {
        const noNetpol = prod.resources.filter((r) => !(r.type === K8S.NetworkPolicy && (r.inputs as any).metadata?.namespace === "production"));
        assert.ok(noNetpol.length < prod.resources.length);
        assert.deepEqual(
            mandatory(await evaluatePolicies({ ...prod, resources: noNetpol })).map((x) => [x.policy, x.message.split(":")[0]]),
            [
                ["k8s-namespace-network-policy", "App namespace production has no NetworkPolicy"],
                ["k8s-namespace-default-deny", "Namespace production has no default-deny ingress NetworkPolicy"],
                ["k8s-namespace-default-deny", "App namespace production has no default-deny egress NetworkPolicy"],
            ],
        );
        // Removing only the egress default is caught too: a pod could reach the metadata service and the internet.
        const noEgressDefault = prod.resources.filter((r) => !(r.type === K8S.NetworkPolicy && (r.inputs as any).metadata?.name === "default-deny-egress"));
        assert.deepEqual(mandatory(await evaluatePolicies({ ...prod, resources: noEgressDefault })).map((x) => x.policy), ["k8s-namespace-default-deny"]);
        // And a platform namespace without its default (monitoring: a pod could reach AlertManager).
        const openMonitoring = prod.resources.filter((r) => !(r.type === K8S.NetworkPolicy && (r.inputs as any).metadata?.namespace === "monitoring" && (r.inputs as any).metadata?.name === "default-deny-ingress"));
        assert.deepEqual(mandatory(await evaluatePolicies({ ...prod, resources: openMonitoring })).map((x) => x.message.split(":")[0]), ["Namespace monitoring has no default-deny ingress NetworkPolicy"]);
        const noGreen = prod.resources.filter((r) => !(r.type === K8S.Deployment && r.name === "nanda-api-green"));
        assert.deepEqual(mandatory(await evaluatePolicies({ ...prod, resources: noGreen })).map((x) => [x.policy, x.name]), [["bluegreen-both-colors", "nanda-api-service"]]);
    });
});
