// Database credentials that do not change under the pods (issue 12 item 7,
// issue 14 item 5; docs/DATABASE.md): the apps and the exporter log in with
// the program's own roles, never with the RDS master user whose password RDS
// rotates every 7 days; a bump of database.credentialsVersion rotates them
// without breaking the pods that still run with the old one.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import { Rendered } from "../plan/render";
import {
    DB_PURPOSES,
    DB_ROLES,
    PSQL_IMAGE,
    SLOTS,
    currentSlot,
    loginRole,
    rolesSql,
    scramKeys,
    scramSha256Verifier,
    slotGeneration,
    verifierEnv,
    verifierSalt,
} from "../components/database-roles";
import { DB_ROLE_NAME } from "../config/data";
import { DEPLOYMENT, SERVICES, diffRenders, expectRejected, find, inputs, ofType, parseWith, renderStack } from "./harness";

const JOB = "kubernetes:batch/v1:Job";
const PASSWORD = "random:index/randomPassword:RandomPassword";
const VERSION = "aws:secretsmanager/secretVersion:SecretVersion";
const SECRET = "kubernetes:core/v1:Secret";
const CONFIGMAP = "kubernetes:core/v1:ConfigMap";

const rolesJob = (r: Rendered) => find(r, JOB, "database-roles-job");
const envOf = (container: any): Record<string, any> => Object.fromEntries(container.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

describe("database roles: the apps' and the exporter's own logins (docs/DATABASE.md)", function () {
    this.timeout(60000);

    describe("SCRAM-SHA-256 verifiers (PostgreSQL's stored form of a password)", () => {
        // RFC 7677 section 3: user "user", password "pencil". The exchange fixes StoredKey and ServerKey:
        // ServerSignature = HMAC(ServerKey, AuthMessage); ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage), H(ClientKey) = StoredKey.
        const salt = Buffer.from("W22ZaJ0SNY7soEsUEjb6gQ==", "base64");
        const nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        const authMessage = `n=user,r=rOprNGfwEbeRWgbNEkqO,r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=${nonce}`;
        const hmac = (key: Buffer, text: string) => crypto.createHmac("sha256", key).update(text).digest();

        it("derives RFC 7677's keys for its test vector", () => {
            const { storedKey, serverKey } = scramKeys("pencil", salt, 4096);
            assert.equal(hmac(serverKey, authMessage).toString("base64"), "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
            const proof = Buffer.from("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "base64");
            const sig = hmac(storedKey, authMessage);
            const clientKey = Buffer.from(proof.map((b, i) => b ^ sig[i]));
            assert.deepEqual(crypto.createHash("sha256").update(clientKey).digest(), storedKey);
        });

        it("writes them as postgres does: SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>", () => {
            const v = scramSha256Verifier("pencil", salt);
            const { storedKey, serverKey } = scramKeys("pencil", salt, 4096);
            assert.equal(v, `SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$${storedKey.toString("base64")}:${serverKey.toString("base64")}`);
            assert.doesNotMatch(v, /pencil/);
        });

        it("one salt per password and role, 16 bytes, stable (an update that rotates nothing changes nothing)", () => {
            assert.equal(verifierSalt("p", "candlefish_app_a").length, 16);
            assert.deepEqual(verifierSalt("p", "candlefish_app_a"), verifierSalt("p", "candlefish_app_a"));
            assert.notDeepEqual(verifierSalt("p", "candlefish_app_a"), verifierSalt("p", "candlefish_app_b"));
            assert.notDeepEqual(verifierSalt("p", "candlefish_app_a"), verifierSalt("q", "candlefish_app_a"));
        });
    });

    describe("two logins per purpose, alternating by database.credentialsVersion", () => {
        it("odd versions use _a, even ones _b", () => {
            assert.deepEqual([1, 2, 3, 4].map(currentSlot), ["a", "b", "a", "b"]);
            assert.deepEqual(DB_PURPOSES.flatMap((p) => SLOTS.map((s) => loginRole(p, s))), ["candlefish_app_a", "candlefish_app_b", "candlefish_monitor_a", "candlefish_monitor_b"]);
        });

        it("a bump changes only the password of the login it switches to, never the one the running pods use", () => {
            for (let v = 1; v < 12; v++) {
                const before = currentSlot(v);
                const after = currentSlot(v + 1);
                assert.equal(slotGeneration(before, v + 1), slotGeneration(before, v), `v${v}->v${v + 1}: ${before} keeps its password`);
                assert.notEqual(slotGeneration(after, v + 1), slotGeneration(after, v), `v${v}->v${v + 1}: ${after} gets a new one`);
            }
        });
    });

    describe("the role Job's SQL", () => {
        const sql = rolesSql("candlefish");
        it("creates each group and login once (idempotent), sets every login's password from the environment", () => {
            for (const purpose of DB_PURPOSES) {
                assert.match(sql, new RegExp(`SELECT 'CREATE ROLE ${DB_ROLES[purpose]} NOLOGIN' WHERE NOT EXISTS \\(SELECT 1 FROM pg_roles WHERE rolname = '${DB_ROLES[purpose]}'\\) \\\\gexec`));
                for (const slot of SLOTS) {
                    const role = loginRole(purpose, slot);
                    assert.match(sql, new RegExp(`\\\\getenv ${role}_verifier ${verifierEnv(role)}\\n`));
                    assert.match(sql, new RegExp(`ALTER ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD :'${role}_verifier';`));
                    assert.match(sql, new RegExp(`GRANT ${DB_ROLES[purpose]} TO ${role};`));
                }
            }
            assert.match(sql, /^\\set ON_ERROR_STOP on$/m);
        });

        it("the app owns what its migrations create; the exporter gets pg_monitor and nothing else", () => {
            assert.match(sql, /GRANT USAGE, CREATE ON SCHEMA public TO candlefish_app;/);
            assert.match(sql, /ALTER ROLE candlefish_app_a IN DATABASE candlefish SET role = 'candlefish_app';/);
            assert.match(sql, /ALTER ROLE candlefish_app_b IN DATABASE candlefish SET role = 'candlefish_app';/);
            assert.match(sql, /GRANT pg_monitor TO candlefish_monitor;/);
            assert.doesNotMatch(sql, /candlefish_monitor[^;]*(CREATE ON|SUPERUSER;|rds_superuser)/);
            assert.doesNotMatch(sql, /GRANT rds_superuser/);
        });

        it("refuses a database name that is not a plain identifier (it is interpolated)", () => {
            assert.throws(() => rolesSql("x; DROP DATABASE y"), /not a plain identifier/);
        });
    });

    describe("production as rendered", () => {
        let prod: Rendered;
        before(async () => {
            prod = await renderStack("production");
        });

        it("four passwords of the program's own, the current logins in Secrets Manager (candlefish/production/database-*)", () => {
            assert.deepEqual(ofType(prod, PASSWORD).filter((p) => p.name.startsWith("database-credentials-")).map((p) => p.name).sort(), [
                "database-credentials-app-a",
                "database-credentials-app-b",
                "database-credentials-monitor-a",
                "database-credentials-monitor-b",
            ]);
            for (const purpose of DB_PURPOSES) {
                const v = JSON.parse(inputs(find(prod, VERSION, `database-credentials-${purpose}`)).secretString);
                assert.deepEqual(Object.keys(v).sort(), ["password", "username"]);
                assert.equal(v.username, loginRole(purpose, "a"));
                assert.match(v.password, new RegExp(`database-credentials-${purpose}-a`), "the a login's own password");
                assert.ok(find(prod, VERSION, `database-credentials-${purpose}`).inputs.secretString instanceof Object, "the secret string is a secret");
                const p = inputs(find(prod, PASSWORD, `database-credentials-${purpose}-a`));
                assert.deepEqual([p.length, p.special], [48, false]);
            }
        });

        it("the role Job: psql as the master user (from the role Job's own Secret), verifiers from a Secret, PSS restricted", () => {
            const job = inputs(rolesJob(prod));
            assert.match(job.metadata.name, /^db-roles-[0-9a-f]{8}$/);
            assert.equal(job.metadata.namespace, "production");
            const pod = job.spec.template.spec;
            const c = pod.containers[0];
            assert.equal(c.image, PSQL_IMAGE);
            assert.deepEqual(c.command, ["psql", "--no-psqlrc", "--file=/sql/roles.sql"]);
            const env = envOf(c);
            assert.deepEqual(env.PGUSER, { secretKeyRef: { name: "candlefish-db-admin", key: "username" } });
            assert.deepEqual(env.PGPASSWORD, { secretKeyRef: { name: "candlefish-db-admin", key: "password" } });
            assert.equal(env.PGHOST, "candlefish-maturity-map-production-db.abcdefghijkl.us-east-1.rds.amazonaws.com");
            assert.equal(env.PGDATABASE, "candlefish");
            // The server proven to be the instance (components/rds-ca.ts), not only encrypted.
            assert.equal(env.PGSSLMODE, "verify-full");
            assert.equal(env.PGSSLROOTCERT, "/etc/candlefish/rds-ca/rds-ca.pem");
            for (const p of DB_PURPOSES) for (const s of SLOTS) {
                const role = loginRole(p, s);
                assert.deepEqual(env[verifierEnv(role)], { secretKeyRef: { name: "candlefish-db-role-verifiers", key: verifierEnv(role) } });
            }
            assert.equal(pod.automountServiceAccountToken, false);
            assert.equal(pod.securityContext.runAsNonRoot, true);
            assert.equal(c.securityContext.readOnlyRootFilesystem, true);
            assert.equal(c.securityContext.allowPrivilegeEscalation, false);
            const sql = inputs(find(prod, CONFIGMAP, "database-roles-sql"));
            assert.equal(sql.data["roles.sql"], rolesSql("candlefish"));
        });

        it("the verifiers Secret holds each login's SCRAM verifier of its password, and no password", async () => {
            // The current (a) logins' passwords are in Secrets Manager now; the b logins' after a bump to version 2.
            const rotated = await renderStack("production", ["database.credentialsVersion=2"]);
            for (const [r, slot] of [[prod, "a"], [rotated, "b"]] as const) {
                const secret = inputs(find(r, SECRET, "database-roles-verifiers"));
                assert.equal(Object.keys(secret.stringData).length, 4);
                for (const p of DB_PURPOSES) {
                    const role = loginRole(p, slot);
                    const { username, password } = JSON.parse(inputs(find(r, VERSION, `database-credentials-${p}`)).secretString);
                    assert.equal(username, role);
                    assert.equal(secret.stringData[verifierEnv(role)], scramSha256Verifier(password, verifierSalt(password, role)), role);
                    assert.ok(!JSON.stringify(secret).includes(password), `${role}: no password in the Secret`);
                }
            }
            assert.ok(find(prod, SECRET, "database-roles-verifiers").inputs.stringData instanceof Object, "stringData is a secret");
        });

        it("rtpm-api's colors and its migration Job wait for the role Job; nothing of theirs reads the master secret", () => {
            for (const color of ["blue", "green"]) assert.ok(find(prod, DEPLOYMENT, `rtpm-api-${color}`).options.dependsOn.includes(`${JOB}::database-roles-job`), color);
            assert.ok(find(prod, JOB, "rtpm-api-migrate-v2-4-1").options.dependsOn.includes(`${JOB}::database-roles-job`));
            for (const d of ofType(prod, DEPLOYMENT)) assert.doesNotMatch(JSON.stringify(inputs(d)), /candlefish-db-admin|rds!db-/, d.name);
        });
    });

    describe("rotation: database.credentialsVersion", () => {
        let prod: Rendered;
        let rotated: Rendered;
        before(async () => {
            prod = await renderStack("production");
            rotated = await renderStack("production", ["database.credentialsVersion=2"]);
        });

        it("new passwords for the _b logins only; the secrets now name them; the role Job runs again under a new name", () => {
            const d = diffRenders(prod, rotated);
            const changed = new Map(d.changed.map((c) => [`${c.type}::${c.name}`, c.paths]));
            for (const p of DB_PURPOSES) {
                assert.deepEqual(changed.get(`${PASSWORD}::database-credentials-${p}-b`), ["keepers.generation"]);
                assert.equal(changed.get(`${PASSWORD}::database-credentials-${p}-a`), undefined, `${p}-a keeps its password`);
                assert.deepEqual(changed.get(`${VERSION}::database-credentials-${p}`), ["secretString"]);
                assert.equal(JSON.parse(inputs(find(rotated, VERSION, `database-credentials-${p}`)).secretString).username, loginRole(p, "b"));
            }
            assert.notEqual(inputs(rolesJob(rotated)).metadata.name, inputs(rolesJob(prod)).metadata.name);
            assert.ok(changed.get(`${SECRET}::database-roles-verifiers`), "the verifiers Secret gets the new ones");
        });

        it("every app pod and the exporter roll to the new login; nothing stateful changes", () => {
            const d = diffRenders(prod, rotated);
            const changed = new Map(d.changed.map((c) => [`${c.type}::${c.name}`, c.paths]));
            for (const svc of SERVICES) for (const color of ["blue", "green"])
                assert.deepEqual(changed.get(`${DEPLOYMENT}::${svc}-${color}`), ["spec.template.metadata.annotations.checksum/secrets"], `${svc}-${color}`);
            assert.deepEqual(changed.get(`${DEPLOYMENT}::monitoring-postgres-exporter`), ["spec.template.metadata.annotations.checksum/secrets"]);
            for (const c of d.changed) assert.doesNotMatch(c.type, /^aws:(rds|elasticache|kms|s3)\//, `${c.type} ${c.name}`);
            assert.deepEqual([d.added, d.removed], [[], []]);
        });

        it("the RDS master secret is in no pod's checksum: RDS rotating it changes nothing the pods read", () => {
            // What rolls pods is the app login's version (above); the master secret is read by the role Job alone.
            const job = inputs(rolesJob(prod));
            assert.ok(JSON.stringify(job).includes("candlefish-db-admin"));
        });
    });

    describe("config", () => {
        it("database.credentialsVersion defaults to 1 and must be a whole number >= 1", async () => {
            assert.equal(parseWith("production").database.credentialsVersion, 1);
            assert.equal(parseWith("staging", ["database.credentialsVersion=3"]).database.credentialsVersion, 3);
            const { message, registered } = await expectRejected("staging", ["database.credentialsVersion=0"]);
            assert.equal(registered, 0);
            assert.match(message, /- database\.credentialsVersion: expected an integer >= 1, got 0/);
        });

        it("the master user may not take a name the program gives its own roles", async () => {
            for (const p of DB_PURPOSES) for (const name of [DB_ROLES[p], ...SLOTS.map((s) => loginRole(p, s))]) assert.match(name, DB_ROLE_NAME);
            const { message } = await expectRejected("staging", ["database.username=candlefish_app_b"]);
            assert.match(message, /- database\.username: "candlefish_app_b" is a role the program creates/);
            assert.equal(parseWith("staging", ["database.username=candlefish_owner"]).database.username, "candlefish_owner");
        });
    });

    it("a local stack provisions no roles (the developer's database user is given)", async () => {
        const local = await renderStack("local");
        assert.deepEqual(ofType(local, JOB).filter((j) => j.name.startsWith("database-roles")), []);
    });
});
