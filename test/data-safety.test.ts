// Data safety. Every stateful resource is protected; no app-level edit (the
// edits an operator makes during a deploy, a switch or an incident) changes
// any input of any stateful resource; no secret value appears in plaintext in
// any resource input; and bad data-store config is refused, with the key
// named, before anything is registered.
import { strict as assert } from "assert";
import { Rendered, Secret } from "../plan/render";
import { SECURE_PLACEHOLDER } from "../plan/stackfile";
import { diffRenders, expectRejected, ofType, renderBoth, renderStack, renderWith } from "./harness";

/** Types that hold data or keys: deleting or replacing one loses something. */
const STATEFUL = [
    "aws:rds/instance:Instance",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:s3/bucket:Bucket",
    "aws:ecr/repository:Repository",
    "aws:secretsmanager/secret:Secret",
    "aws:kms/key:Key",
    "aws:backup/vault:Vault",
];
/** The data-store components: nothing under them may move on an app-level edit either. */
const DATA_COMPONENTS = /^candlefish:data:/;

/** Edits an operator makes while deploying, switching or firefighting (runbook sections). */
const APP_EDITS: Readonly<Record<string, readonly string[]>> = {
    "switch traffic (activeColor flip)": ["activeColor=green"],
    "per-service switch override": ["services.rtpm-api.activeColor=green"],
    "image bump on the idle color": ["services.rtpm-api.green.imageTag=v2.5.0", "services.candlefish-website.green.imageTag=v1.3.0"],
    "image bump on the live color": ["services.nanda-api.blue.imageTag=v1.8.1"],
    "emergency scale": ["services.candlefish-website.blue.replicas=6"],
    "scale idle color to zero": ["services.otter-gateway.green.replicas=0"],
    "feature flag on one color": ["services.candlefish-website.green.featureFlags.NEW_UI=true"],
    "read-only mode": ["readOnlyMode=true"],
    "maintenance mode": ["maintenanceMode=true"],
    "everything at once": [
        "activeColor=green",
        "services.rtpm-api.green.imageTag=v2.5.0",
        "services.rtpm-api.green.replicas=4",
        "services.candlefish-website.green.featureFlags.NEW_UI=true",
    ],
};

/** Paths (resource::input.path) where a needle occurs outside a Secret marker, and how often it occurs inside one. */
function scan(r: Rendered, needles: readonly string[]): { plaintext: string[]; wrapped: number } {
    const plaintext: string[] = [];
    let wrapped = 0;
    const walk = (v: unknown, path: string, inSecret: boolean): void => {
        if (v instanceof Secret) return walk(v.value, path, true);
        if (typeof v === "string") {
            for (const n of needles) if (v.includes(n)) inSecret ? wrapped++ : plaintext.push(path);
        } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}.${i}`, inSecret));
        else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`, inSecret);
    };
    for (const res of r.resources) walk(res.inputs, `${res.type}::${res.name}`, false);
    walk(r.outputs, "outputs", false);
    return { plaintext, wrapped };
}

describe("data safety", function () {
    this.timeout(300000);
    let prod: Rendered;
    let staging: Rendered;
    before(async () => {
        ({ prod, staging } = await renderBoth());
    });

    it("every stateful resource is protected (DB, cache, bucket, repositories, secrets, KMS keys, vaults)", () => {
        for (const r of [prod, staging]) {
            for (const type of STATEFUL) {
                const found = ofType(r, type);
                if (type !== "aws:ecr/repository:Repository" || r === prod) assert.ok(found.length > 0, `${r.stack}: no ${type}`);
                for (const res of found) assert.equal(res.options.protect, true, `${r.stack}: ${type} ${res.name} is not protected`);
            }
        }
        // The counts the issue implies for production: 1 DB, 1 cache, 1 bucket, 4 repositories; 5 secrets
        // (config, jwt-secret, redis-auth, and the apps' and the exporter's database logins).
        assert.equal(ofType(prod, "aws:rds/instance:Instance").length, 1);
        assert.equal(ofType(prod, "aws:elasticache/replicationGroup:ReplicationGroup").length, 1);
        assert.equal(ofType(prod, "aws:s3/bucket:Bucket").filter((b) => b.name === "backups-bucket").length, 1);
        assert.equal(ofType(prod, "aws:secretsmanager/secret:Secret").length, 5);
        assert.equal(ofType(prod, "aws:ecr/repository:Repository").length, 4);
    });

    describe("no app-level edit changes a stateful resource (production)", () => {
        for (const [what, edits] of Object.entries(APP_EDITS)) {
            it(what, async () => {
                const after = await renderStack("production", edits);
                const d = diffRenders(prod, after);
                // The edit did something (otherwise this proves nothing) ...
                assert.ok(d.changed.length + d.added.length + d.removed.length > 0, `${edits.join(" ")} changed nothing`);
                // ... and none of it touches data.
                const dataNames = new Set(
                    after.resources.filter((x) => x.options.parent && DATA_COMPONENTS.test(x.options.parent.split("::")[0])).map((x) => `${x.type}::${x.name}`),
                );
                for (const c of [...d.changed, ...d.added, ...d.removed]) {
                    assert.ok(!STATEFUL.includes(c.type), `${what}: stateful ${c.type} ${c.name} changed: ${JSON.stringify(c)}`);
                    assert.ok(!dataNames.has(`${c.type}::${c.name}`), `${what}: data-store resource ${c.type} ${c.name} changed: ${JSON.stringify(c)}`);
                }
            });
        }
    });

    describe("no plaintext secret in any resource input or stack output", () => {
        it("generated passwords and tokens appear only inside secret markers", () => {
            for (const r of [prod, staging]) {
                const { plaintext, wrapped } = scan(r, ["mock-password-"]);
                assert.deepEqual(plaintext, [], `${r.stack}: plaintext secret at ${plaintext.join(", ")}`);
                // The scan sees them: the JWT secret version and the Redis token (twice: secret and cluster).
                assert.ok(wrapped >= 3, `${r.stack}: expected the generated secrets inside markers, saw ${wrapped}`);
            }
        });

        it("values from secret config appear only inside secret markers", async () => {
            const canary = "sk_live_canary_4f2a91";
            const r = await renderWith("production", [], { secrets: { config: { STRIPE_KEY: canary } } }, { secret: ["secrets"] });
            const { plaintext, wrapped } = scan(r, [canary, SECURE_PLACEHOLDER]);
            assert.deepEqual(plaintext, []);
            assert.ok(wrapped >= 1, "the canary must reach candlefish/production/config");
        });
    });

    describe("bad data-store config is refused before anything is registered, naming the key", () => {
        const cases: { what: string; stack?: string; edits?: string[]; replace?: Record<string, unknown>; secret?: boolean; key: string; says: RegExp }[] = [
            { what: "an instance class without the db. prefix", edits: ["database.instanceClass=r6g.large"], key: "database.instanceClass", says: /RDS instance class such as db\.r6g\.large/ },
            { what: "an instance class with an unknown size", edits: ["database.instanceClass=db.r6g.huge"], key: "database.instanceClass", says: /RDS instance class/ },
            { what: "storage below the RDS minimum", edits: ["database.allocatedStorage=10"], key: "database.allocatedStorage", says: /integer from 20 to 65536, got 10/ },
            { what: "negative storage", edits: ["database.allocatedStorage=-100"], key: "database.allocatedStorage", says: /got -100/ },
            { what: "fractional storage", edits: ["database.allocatedStorage=20.5"], key: "database.allocatedStorage", says: /integer from 20/ },
            { what: "an autoscaling ceiling below the storage", edits: ["database.allocatedStorage=200", "database.maxAllocatedStorage=100"], key: "database.maxAllocatedStorage", says: /must be above database\.allocatedStorage \(200 GiB\)/ },
            { what: "RDS backups kept less than 7 days (FSBP RDS.11)", edits: ["database.backupRetentionDays=3"], key: "database.backupRetentionDays", says: /integer from 7 to 35, got 3/ },
            { what: "negative RDS backup retention", edits: ["database.backupRetentionDays=-7"], key: "database.backupRetentionDays", says: /got -7/ },
            { what: "a PostgreSQL major older than 13", edits: ["database.engineVersion=12"], key: "database.engineVersion", says: /13 or newer/ },
            { what: "an unquoted decimal engine version", edits: ["database.engineVersion=16.10"], key: "database.engineVersion", says: /quoted string/ },
            { what: "an enhanced-monitoring interval RDS does not offer", edits: ["database.monitoringIntervalSeconds=7"], key: "database.monitoringIntervalSeconds", says: /one of 0, 1, 5, 10, 15, 30, 60/ },
            { what: "the reserved master user name", edits: ["database.username=postgres"], key: "database.username", says: /reserved/ },
            { what: "a typo'd database key", edits: ["database.multiAZ=true"], key: "database.multiAZ", says: /did you mean "multiAz"/ },
            { what: "a snapshot id with forbidden characters", edits: ["database.restoreFromSnapshot=snap_2026!"], key: "database.restoreFromSnapshot", says: /RDS DB snapshot identifier/ },
            { what: "a snapshot id with a double hyphen", edits: ["database.restoreFromSnapshot=pre--migration"], key: "database.restoreFromSnapshot", says: /RDS DB snapshot identifier/ },
            { what: "a snapshot id starting with a digit", edits: ["database.restoreFromSnapshot=0042-pre-migration"], key: "database.restoreFromSnapshot", says: /RDS DB snapshot identifier/ },
            { what: "a snapshot ARN of a cluster snapshot", edits: ["database.restoreFromSnapshot=arn:aws:rds:us-east-1:123456789012:cluster-snapshot:x"], key: "database.restoreFromSnapshot", says: /arn:aws:rds:<region>:<account>:snapshot:<id>/ },
            { what: "a snapshot ARN with a short account", edits: ["database.restoreFromSnapshot=arn:aws:rds:us-east-1:1234:snapshot:pre-migration"], key: "database.restoreFromSnapshot", says: /snapshot identifier/ },
            { what: "a cache node type without the cache. prefix", edits: ["cache.nodeType=r7g.large"], key: "cache.nodeType", says: /ElastiCache node type such as cache\.r7g\.large/ },
            { what: "Redis older than 6.2", edits: ['cache.engineVersion="5.0"'], key: "cache.engineVersion", says: /6\.2 or newer/ },
            { what: "no cache snapshots (FSBP ElastiCache.1)", edits: ["cache.snapshotRetentionDays=0"], key: "cache.snapshotRetentionDays", says: /integer from 1 to 35, got 0/ },
            { what: "multi-AZ production cache with a single node", stack: "production", edits: ["cache.numCacheClusters=1"], key: "cache.numCacheClusters", says: /at least 2, got 1/ },
            { what: "a negative AWS Backup retention", edits: ["backups.retentionDays=-30"], key: "backups.retentionDays", says: /integer from 1 to 36500, got -30/ },
            { what: "a zero AWS Backup retention", edits: ["backups.retentionDays=0"], key: "backups.retentionDays", says: /got 0/ },
            { what: "a copy region that is not a region", edits: ["backups.copyToRegion=mars-1"], key: "backups.copyToRegion", says: /AWS region such as us-west-2/ },
            { what: "a copy region equal to the stack's region", edits: ["backups.copyToRegion=us-east-1"], key: "backups.copyToRegion", says: /second region/ },
            { what: "expiry before Glacier's minimum duration", edits: ["backups.expireAfterDays=100"], key: "backups.expireAfterDays", says: /at least backups\.glacierAfterDays \+ 90 \(180/ },
            { what: "Glacier before infrequent access", edits: ["backups.glacierAfterDays=30"], key: "backups.glacierAfterDays", says: /after backups\.infrequentAccessAfterDays \(30\)/ },
            { what: "a negative JWT secret version", edits: ["secrets.jwtSecretVersion=-1"], key: "secrets.jwtSecretVersion", says: /integer >= 1, got -1/ },
            { what: "a chart version range", edits: ["secrets.externalSecretsChartVersion=^0.10"], key: "secrets.externalSecretsChartVersion", says: /exact chart version/ },
            { what: "a plaintext value in secrets.config", edits: ["secrets.config.STRIPE_KEY=sk_live_oops"], key: "secrets.config", says: /plaintext values; set each with `pulumi config set --secret/ },
            { what: "secret config shadowing a platform secret", replace: { secrets: { config: { DATABASE_URL: "postgres://x" } } }, secret: true, key: "secrets.config.DATABASE_URL", says: /delivered by the platform/ },
        ];
        for (const c of cases) {
            it(`rejects ${c.what}`, async () => {
                const secret = c.secret ? Object.keys(c.replace ?? {}) : [];
                const { message, registered } = await expectRejected(c.stack ?? "staging", c.edits ?? [], c.replace, { secret });
                assert.equal(registered, 0, "nothing may be registered");
                const line = message.split("\n").find((l) => l.startsWith(`  - ${c.key}: `));
                assert.ok(line, `expected an issue for ${c.key}, got:\n${message}`);
                assert.match(line!, c.says);
            });
        }
    });
});
