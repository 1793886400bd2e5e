// Runbook "Configuration Rollback > Secret Rollback" and "Rotate Secrets", as
// config: a previous JWT secret value comes back by naming its Secrets Manager
// version (secrets.jwtSecretRestoreVersionId); a previous config value comes
// back by reverting the stack file; the Redis AUTH token rotates with
// cache.authTokenVersion, the new token accepted by ElastiCache before any pod
// is given it.
import { strict as assert } from "assert";
import { Rendered, Secret } from "../plan/render";
import { restoredJwtSecret } from "../components/secrets";
import { DEPLOYMENT, SERVICES, diffRenders, expectRejected, find, inputs, ofType, parseWith, renderStack, renderWith } from "./harness";

const VERSION = "aws:secretsmanager/secretVersion:SecretVersion";
const ES = "kubernetes:external-secrets.io/v1beta1:ExternalSecret";
const RG = "aws:elasticache/replicationGroup:ReplicationGroup";
const PASSWORD = "random:index/randomPassword:RandomPassword";
const VERSION_ID = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";

/** Every Deployment's checksum changes, through that annotation only; every ExternalSecret re-syncs. */
function assertRolledOnly(before: Rendered, changed: Map<string, string[]>) {
    for (const es of ofType(before, ES)) assert.deepEqual(changed.get(`${ES}::${es.name}`), ["metadata.annotations.force-sync"], es.name);
    for (const svc of SERVICES)
        for (const color of ["blue", "green"])
            assert.deepEqual(changed.get(`${DEPLOYMENT}::${svc}-${color}`), ["spec.template.metadata.annotations.checksum/secrets"], `${svc}-${color}`);
}

describe("secret rollback and rotation as config", function () {
    this.timeout(90000);
    let staging: Rendered;
    before(async () => {
        staging = await renderStack("staging");
    });

    it("JWT: secrets.jwtSecretRestoreVersionId writes that earlier version's value as the current one, and the pods roll to it", async () => {
        const after = await renderStack("staging", [`secrets.jwtSecretRestoreVersionId=${VERSION_ID}`]);
        const v = find(after, VERSION, "secrets-jwt-secret");
        // The value read back from Secrets Manager (the mock answers with the version it was asked for) ...
        assert.deepEqual(JSON.parse(inputs(v).secretString), { "jwt-secret": `restored-${VERSION_ID}` });
        assert.ok(v.inputs.secretString instanceof Secret, "kept secret in the state");
        // ... and nothing but the value, its delivery and the pods' roll changes: no RandomPassword is replaced.
        const d = diffRenders(staging, after);
        assert.deepEqual([d.added, d.removed], [[], []]);
        const changed = new Map(d.changed.map((c) => [`${c.type}::${c.name}`, c.paths]));
        assert.deepEqual(changed.get(`${VERSION}::secrets-jwt-secret`), ["secretString"]);
        assert.equal(changed.get(`${PASSWORD}::secrets-jwt`), undefined);
        assertRolledOnly(staging, changed);
        assert.equal(d.changed.length, 1 + ofType(staging, ES).length + SERVICES.length * 2, JSON.stringify(d.changed.map((c) => c.name)));
    });

    it("JWT: a restored version must hold a jwt-secret value, or the deploy stops naming the version", () => {
        assert.equal(restoredJwtSecret('{"jwt-secret":"abc","x":1}', "candlefish/staging/jwt-secret", VERSION_ID), '{"jwt-secret":"abc"}');
        for (const bad of ['{"other":"abc"}', '{"jwt-secret":""}', "not json"])
            assert.throws(() => restoredJwtSecret(bad, "candlefish/staging/jwt-secret", VERSION_ID), new RegExp(`secrets\\.jwtSecretRestoreVersionId: version ${VERSION_ID} of candlefish/staging/jwt-secret holds no "jwt-secret" value`));
    });

    it("JWT: a VersionId of the wrong shape is refused at config time, naming the key; nothing registered", async () => {
        const { message, registered } = await expectRejected("staging", ["secrets.jwtSecretRestoreVersionId=AWSPREVIOUS"]);
        assert.match(message, /secrets\.jwtSecretRestoreVersionId: .*Secrets Manager VersionId/);
        assert.equal(registered, 0);
        assert.equal(parseWith("staging", [`secrets.jwtSecretRestoreVersionId=${VERSION_ID}`]).secrets.jwtSecretRestoreVersionId, VERSION_ID);
    });

    it("config values: reverting the stack file's change writes the previous value again (the same secret version content)", async () => {
        const withValue = (v: string) => renderWith("staging", [`secrets.config.STRIPE_KEY=${v}`], {}, { secret: ["secrets"] });
        const [a, b, revert] = [await withValue("sk_live_old"), await withValue("sk_live_new"), await withValue("sk_live_old")];
        const string = (r: Rendered) => inputs(find(r, VERSION, "secrets-config")).secretString;
        assert.equal(JSON.parse(string(a)).STRIPE_KEY, "sk_live_old");
        assert.equal(JSON.parse(string(b)).STRIPE_KEY, "sk_live_new");
        assert.equal(string(revert), string(a));
        assert.deepEqual(diffRenders(a, revert).changed, []);
    });

    it("Redis: cache.authTokenVersion rotates the AUTH token, ROTATE keeps the old one valid, and pods roll after ElastiCache has it", async () => {
        // Version 1 (the default) keeps the token generated at creation: no keeper, as before rotation existed.
        assert.equal(inputs(find(staging, PASSWORD, "cache-auth-token")).keepers, undefined);
        assert.equal(inputs(find(staging, RG, "cache-redis")).authTokenUpdateStrategy, "ROTATE");
        const after = await renderStack("staging", ["cache.authTokenVersion=2"]);
        const d = diffRenders(staging, after);
        assert.deepEqual([d.added, d.removed], [[], []]);
        const changed = new Map(d.changed.map((c) => [`${c.type}::${c.name}`, c.paths]));
        assert.deepEqual(changed.get(`${PASSWORD}::cache-auth-token`), ["keepers"]);
        assert.deepEqual(changed.get(`${RG}::cache-redis`), ["authToken"]);
        assert.deepEqual(changed.get(`${VERSION}::cache-auth`), ["secretString"]);
        assert.notEqual(inputs(find(after, RG, "cache-redis")).authToken, inputs(find(staging, RG, "cache-redis")).authToken);
        assert.equal(JSON.parse(inputs(find(after, VERSION, "cache-auth")).secretString)["auth-token"], inputs(find(after, RG, "cache-redis")).authToken);
        assertRolledOnly(staging, changed);
        assert.equal(d.changed.length, 3 + ofType(staging, ES).length + SERVICES.length * 2, JSON.stringify(d.changed.map((c) => c.name)));
        // The secret (so REDIS_URL and the pods) moves only once the replication group was updated.
        assert.ok(find(after, VERSION, "cache-auth").options.dependsOn.includes(`${RG}::cache-redis`));
    });

    it("Redis: cache.authTokenStrategy SET drops the previous token; anything else is refused", async () => {
        const r = await renderStack("staging", ["cache.authTokenVersion=2", "cache.authTokenStrategy=SET"]);
        assert.equal(inputs(find(r, RG, "cache-redis")).authTokenUpdateStrategy, "SET");
        assert.match((await expectRejected("staging", ["cache.authTokenStrategy=DELETE"])).message, /cache\.authTokenStrategy: expected one of "ROTATE", "SET"/);
        assert.match((await expectRejected("staging", ["cache.authTokenVersion=0"])).message, /cache\.authTokenVersion: expected an integer >= 1/);
    });
});
