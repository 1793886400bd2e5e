// The ElastiCache Redis replication group: FSBP ElastiCache.1-7, the AUTH
// token generated and kept in Secrets Manager, and the production/staging
// differences (failover and multi-AZ in production only).
import { strict as assert } from "assert";
import { redisParameterGroup } from "../components/cache";
import { Rendered, Secret } from "../plan/render";
import { find, inputs, ofType, renderBoth, renderStack } from "./harness";

const RG = "aws:elasticache/replicationGroup:ReplicationGroup";
const TOKEN = "mock-password-cache-auth-token";

describe("cache (ElastiCache Redis)", function () {
    this.timeout(60000);
    let prod: Rendered;
    let staging: Rendered;
    before(async () => {
        ({ prod, staging } = await renderBoth());
    });

    it("production: encrypted at rest with its own key and in transit, failover across AZs, snapshots kept", () => {
        const rg = find(prod, RG, "cache-redis");
        const i = inputs(rg);
        assert.equal(i.replicationGroupId, "candlefish-production-redis");
        assert.equal(i.engine, "redis");
        assert.equal(i.engineVersion, "7.1");
        assert.equal(i.atRestEncryptionEnabled, true, "ElastiCache.4");
        assert.equal(i.kmsKeyId, "arn:aws:kms:us-east-1:123456789012:key/cache-kms");
        assert.equal(i.transitEncryptionEnabled, true, "ElastiCache.5");
        assert.equal(i.transitEncryptionMode, "required");
        assert.equal(i.automaticFailoverEnabled, true, "ElastiCache.3");
        assert.equal(i.multiAzEnabled, true);
        assert.equal(i.numCacheClusters, 2);
        assert.equal(i.snapshotRetentionLimit, 7, "ElastiCache.1");
        assert.equal(i.autoMinorVersionUpgrade, true, "ElastiCache.2");
        assert.equal(i.nodeType, "cache.r7g.large");
        assert.equal(i.port, 6379);
        assert.equal(rg.options.protect, true);
    });

    it("staging: one node, no failover, one day of snapshots, same encryption", () => {
        const i = inputs(find(staging, RG, "cache-redis"));
        assert.equal(i.replicationGroupId, "candlefish-staging-redis");
        assert.equal(i.automaticFailoverEnabled, false);
        assert.equal(i.multiAzEnabled, false);
        assert.equal(i.numCacheClusters, 1);
        assert.equal(i.snapshotRetentionLimit, 1);
        assert.equal(i.nodeType, "cache.t4g.small");
        assert.equal(i.atRestEncryptionEnabled, true);
        assert.equal(i.transitEncryptionEnabled, true);
    });

    it("AUTH: the generated token reaches the cluster only as a secret", () => {
        const raw = find(prod, RG, "cache-redis").inputs;
        assert.ok(raw.authToken instanceof Secret, "authToken must be a secret input");
        assert.equal((raw.authToken as Secret).value, TOKEN);
        const pw = inputs(find(prod, "random:index/randomPassword:RandomPassword", "cache-auth-token"));
        assert.equal(pw.length, 64);
        assert.equal(pw.special, false);
    });

    it("the token is kept in Secrets Manager as candlefish/<stack>/redis-auth, encrypted with the secrets key", () => {
        const s = find(prod, "aws:secretsmanager/secret:Secret", "cache-auth");
        assert.equal(inputs(s).name, "candlefish/production/redis-auth");
        assert.equal(inputs(s).kmsKeyId, "arn:aws:kms:us-east-1:123456789012:key/secrets-kms");
        assert.equal(s.options.protect, true);
        const v = find(prod, "aws:secretsmanager/secretVersion:SecretVersion", "cache-auth");
        assert.ok(v.inputs.secretString instanceof Secret);
        assert.deepEqual(JSON.parse(inputs(v).secretString), { "auth-token": TOKEN });
    });

    it("its own subnet group on the private subnets (ElastiCache.7) and 6379 from the nodes only", () => {
        for (const [r, stack] of [[prod, "production"], [staging, "staging"]] as const) {
            const sn = inputs(find(r, "aws:elasticache/subnetGroup:SubnetGroup", "cache-subnets"));
            assert.equal(sn.name, `candlefish-${stack}-redis`);
            assert.deepEqual(sn.subnetIds, ["a", "b", "c"].map((z) => `candlefish-${stack}-private-us-east-1${z}-id`));
            const rg = inputs(find(r, RG, "cache-redis"));
            assert.equal(rg.subnetGroupName, sn.name);
            assert.deepEqual(rg.securityGroupIds, ["cache-sg-id"]);
            const sg = inputs(find(r, "aws:ec2/securityGroup:SecurityGroup", "cache-sg"));
            assert.deepEqual(sg.ingress, [
                { description: "Redis from EKS nodes", protocol: "tcp", fromPort: 6379, toPort: 6379, securityGroups: [`sg-nodes-candlefish-maturity-map-${stack}-eks`] },
            ]);
            assert.deepEqual(sg.egress, []);
        }
    });

    it("one replication group per stack; its key rotates and is protected", () => {
        assert.equal(ofType(prod, RG).length, 1);
        const key = find(prod, "aws:kms/key:Key", "cache-kms");
        assert.equal(inputs(key).enableKeyRotation, true);
        assert.equal(key.options.protect, true);
    });

    it("turning multi-AZ on in staging brings a replica along", async () => {
        const r = await renderStack("staging", ["cache.multiAz=true"]);
        const i = inputs(find(r, RG, "cache-redis"));
        assert.equal(i.multiAzEnabled, true);
        assert.equal(i.automaticFailoverEnabled, true);
        assert.equal(i.numCacheClusters, 2);
    });
});

describe("cache: parameter group names ElastiCache has", () => {
    it("default.redis6.x for Redis 6, default.redis7 for 7 (there is no default.redis6)", () => {
        assert.equal(redisParameterGroup("6.2"), "default.redis6.x");
        assert.equal(redisParameterGroup("7.1"), "default.redis7");
    });
});
