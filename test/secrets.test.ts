// Secrets Manager (the runbook's candlefish/<stack>/config and
// candlefish/<stack>/jwt-secret), their delivery to pods through External
// Secrets Operator with IRSA, and rotation as config: bumping
// secrets.jwtSecretVersion changes the secret and the pod-template checksum,
// and nothing stateful (runbook "Rotate Secrets" without `openssl rand` or
// `kubectl rollout restart`).
import { strict as assert } from "assert";
import { Rendered, Secret } from "../plan/render";
import { CLUSTER_SECRET_STORE, DB_SECRETS, K8S_SECRETS } from "../components/secrets";
import { SERVICE_CATALOG } from "../config/services";
import { DEPLOYMENT, SERVICES, diffRenders, find, inputs, ofType, renderBoth, renderStack, renderWith } from "./harness";

const SECRET = "aws:secretsmanager/secret:Secret";
const VERSION = "aws:secretsmanager/secretVersion:SecretVersion";
const ES = "kubernetes:external-secrets.io/v1beta1:ExternalSecret";
const CSS = "kubernetes:external-secrets.io/v1beta1:ClusterSecretStore";
const SECRETS_KEY = "arn:aws:kms:us-east-1:123456789012:key/secrets-kms";

// The model packages load through a real dynamic import (kept as is by the transpiler).
const importModel = (spec: string): Promise<Record<string, any>> => import(spec);

/** Env entries of a Deployment's first container, by name. */
function envOf(r: Rendered, name: string): Record<string, any> {
    const c = inputs(find(r, DEPLOYMENT, name)).spec.template.spec.containers[0];
    return Object.fromEntries(c.env.map((e: { name: string }) => [e.name, e]));
}

describe("secrets (Secrets Manager and delivery to pods)", function () {
    this.timeout(90000);
    let prod: Rendered;
    let staging: Rendered;
    before(async () => {
        ({ prod, staging } = await renderBoth());
    });

    describe("Secrets Manager", () => {
        it("the runbook's names, candlefish/<stack>/config and candlefish/<stack>/jwt-secret, KMS-encrypted and protected", () => {
            for (const [r, stack, window] of [[prod, "production", 30], [staging, "staging", 7]] as const) {
                const names = ofType(r, SECRET).map((s) => inputs(s).name).sort();
                assert.deepEqual(names, [
                    `candlefish/${stack}/config`,
                    `candlefish/${stack}/database-app`,
                    `candlefish/${stack}/database-monitor`,
                    `candlefish/${stack}/jwt-secret`,
                    `candlefish/${stack}/redis-auth`,
                ]);
                for (const s of ofType(r, SECRET)) {
                    assert.equal(inputs(s).kmsKeyId, SECRETS_KEY, s.name);
                    assert.equal(inputs(s).recoveryWindowInDays, window, s.name);
                    assert.equal(s.options.protect, true, s.name);
                }
            }
            const key = find(prod, "aws:kms/key:Key", "secrets-kms");
            assert.equal(inputs(key).enableKeyRotation, true);
            assert.equal(key.options.protect, true);
        });

        it("the JWT secret is generated (64 characters), stored as the runbook's {\"jwt-secret\": ...}, only as a secret", () => {
            const pw = inputs(find(prod, "random:index/randomPassword:RandomPassword", "secrets-jwt"));
            assert.equal(pw.length, 64);
            assert.deepEqual(pw.keepers, { version: "1" });
            const v = find(prod, VERSION, "secrets-jwt-secret");
            assert.ok(v.inputs.secretString instanceof Secret);
            const doc = JSON.parse(inputs(v).secretString);
            assert.deepEqual(Object.keys(doc), ["jwt-secret"]);
            assert.match(doc["jwt-secret"], /^mock-password-secrets-jwt-/);
        });

        it("candlefish/<stack>/config holds the values of secret config, as a secret, and each service gets only the keys it lists", async () => {
            const secrets = { config: { SENTRY_DSN: "https://k@sentry.example/1", STRIPE_KEY: "sk_test_x" } };
            const lists = [
                "services.candlefish-website.secrets[0]=SENTRY_DSN",
                "services.rtpm-api.secrets[0]=STRIPE_KEY",
                "services.rtpm-api.secrets[1]=SENTRY_DSN",
            ];
            const r = await renderWith("staging", lists, { secrets }, { secret: ["secrets"] });
            const v = find(r, VERSION, "secrets-config");
            assert.ok(v.inputs.secretString instanceof Secret);
            assert.deepEqual(JSON.parse(inputs(v).secretString), { SENTRY_DSN: "https://k@sentry.example/1", STRIPE_KEY: "sk_test_x" });
            const expected: Record<string, string[]> = {
                "candlefish-website": ["SENTRY_DSN"],
                "rtpm-api": ["DATABASE_URL", "JWT_SECRET", "REDIS_URL", "SENTRY_DSN", "STRIPE_KEY"],
                "nanda-api": [],
                "otter-gateway": ["JWT_SECRET"],
            };
            for (const svc of SERVICES) {
                for (const color of ["blue", "green"]) {
                    const env = envOf(r, `${svc}-${color}`);
                    const secretNames = Object.keys(env).filter((k) => env[k].valueFrom?.secretKeyRef).sort();
                    assert.deepEqual(secretNames, expected[svc], `${svc}-${color}`);
                }
            }
            assert.deepEqual(envOf(r, "candlefish-website-blue").SENTRY_DSN.valueFrom, { secretKeyRef: { name: K8S_SECRETS.config, key: "SENTRY_DSN" } });
            assert.deepEqual(envOf(r, "rtpm-api-green").STRIPE_KEY.valueFrom, { secretKeyRef: { name: K8S_SECRETS.config, key: "STRIPE_KEY" } });
            // Without secret config the secret still exists, holding an empty object.
            assert.deepEqual(JSON.parse(inputs(find(prod, VERSION, "secrets-config")).secretString), {});
        });
    });

    describe("External Secrets Operator", () => {
        it("is installed from a pinned chart with its CRDs; only a dedicated reader service account is bound to the IRSA role", () => {
            const rel = inputs(find(prod, "kubernetes:helm.sh/v3:Release", "secret-delivery-eso"));
            assert.equal(rel.chart, "external-secrets");
            assert.equal(rel.version, "0.10.7");
            assert.equal(rel.repositoryOpts.repo, "https://charts.external-secrets.io");
            assert.equal(rel.namespace, "external-secrets");
            assert.equal(rel.values.installCRDs, true);
            // The controller itself holds no AWS role ...
            assert.deepEqual(rel.values.serviceAccount, { create: true, name: "external-secrets" });
            // ... the reader the store authenticates as does.
            const sa = inputs(find(prod, "kubernetes:core/v1:ServiceAccount", "secret-delivery-reader"));
            assert.deepEqual(sa.metadata, {
                name: "candlefish-secrets-reader",
                namespace: "external-secrets",
                annotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/candlefish-production-external-secrets" },
            });
            assert.equal(sa.automountServiceAccountToken, false);
            const ns = inputs(find(prod, "kubernetes:core/v1:Namespace", "secret-delivery-ns"));
            assert.equal(ns.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
        });

        it("the IRSA role trusts only the reader service account, through the cluster's OIDC provider", () => {
            const trust = JSON.parse(inputs(find(prod, "aws:iam/role:Role", "secret-delivery-irsa")).assumeRolePolicy);
            assert.equal(trust.Statement.length, 1);
            const st = trust.Statement[0];
            assert.equal(st.Action, "sts:AssumeRoleWithWebIdentity");
            assert.match(st.Principal.Federated, /^arn:aws:iam::123456789012:oidc-provider\/oidc\.eks\.us-east-1\.amazonaws\.com\/id\//);
            const issuer = st.Principal.Federated.split("oidc-provider/")[1];
            assert.deepEqual(st.Condition, {
                StringEquals: { [`${issuer}:sub`]: "system:serviceaccount:external-secrets:candlefish-secrets-reader", [`${issuer}:aud`]: "sts.amazonaws.com" },
            });
        });

        it("the role reads candlefish/<stack>/* and the database's own master secret, and decrypts with the secrets key via Secrets Manager only", () => {
            const doc = JSON.parse(inputs(find(prod, "aws:iam/rolePolicy:RolePolicy", "secret-delivery-irsa")).policy);
            assert.deepEqual(doc.Statement, [
                {
                    Sid: "ReadAppSecrets",
                    Effect: "Allow",
                    Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds"],
                    Resource: [
                        "arn:aws:secretsmanager:us-east-1:123456789012:secret:candlefish/production/*",
                        "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-database-instance",
                    ],
                },
                {
                    Sid: "DecryptAppSecrets",
                    Effect: "Allow",
                    Action: ["kms:Decrypt"],
                    Resource: [SECRETS_KEY],
                    Condition: { StringEquals: { "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com" } },
                },
            ]);
        });

        it("one ClusterSecretStore for AWS Secrets Manager, usable from the app namespace only, after the chart", () => {
            const css = find(staging, CSS, "secret-delivery-store");
            assert.equal(inputs(css).metadata.name, CLUSTER_SECRET_STORE);
            assert.deepEqual(inputs(css).spec, {
                provider: {
                    aws: {
                        service: "SecretsManager",
                        region: "us-east-1",
                        auth: { jwt: { serviceAccountRef: { name: "candlefish-secrets-reader", namespace: "external-secrets" } } },
                    },
                },
                conditions: [{ namespaces: ["staging"] }],
            });
            assert.deepEqual(css.options.dependsOn, ["kubernetes:helm.sh/v3:Release::secret-delivery-eso"]);
        });

        it("ExternalSecrets produce candlefish-config, candlefish-jwt, rtpm-api-database and candlefish-redis in the app namespace (and the exporter's and the role Job's database Secrets)", () => {
            const byName: Record<string, any> = Object.fromEntries(ofType(prod, ES).map((e) => [inputs(e).metadata.name, inputs(e)]));
            assert.deepEqual(Object.keys(byName).sort(), [...Object.values(K8S_SECRETS), ...Object.values(DB_SECRETS)].sort());
            for (const [name, es] of Object.entries(byName)) {
                assert.equal(es.metadata.namespace, "production", name);
                assert.deepEqual(es.spec.secretStoreRef, { kind: "ClusterSecretStore", name: CLUSTER_SECRET_STORE }, name);
                assert.equal(es.spec.target.name, name);
                assert.equal(es.spec.target.creationPolicy, "Owner");
            }
            assert.deepEqual(byName["candlefish-config"].spec.dataFrom, [{ extract: { key: "candlefish/production/config" } }]);
            assert.deepEqual(byName["candlefish-jwt"].spec.data, [{ secretKey: "JWT_SECRET", remoteRef: { key: "candlefish/production/jwt-secret", property: "jwt-secret" } }]);
            // rtpm-api and the exporter: the program's own logins, never the RDS master secret (docs/DATABASE.md).
            const master = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-database-instance";
            const url =
                "postgresql://{{ .username | urlquery }}:{{ .password | urlquery }}@candlefish-maturity-map-production-db.abcdefghijkl.us-east-1.rds.amazonaws.com:5432/candlefish?sslmode=verify-full&sslrootcert=/etc/candlefish/rds-ca/rds-ca.pem";
            for (const [secret, source] of [["rtpm-api-database", "candlefish/production/database-app"], ["postgres-exporter-database", "candlefish/production/database-monitor"]]) {
                assert.deepEqual(
                    byName[secret].spec.data.map((d: any) => [d.secretKey, d.remoteRef.key, d.remoteRef.property]),
                    [["username", source, "username"], ["password", source, "password"]],
                    secret,
                );
                assert.equal(byName[secret].spec.target.template.data.DATABASE_URL, url, secret);
            }
            // The master credentials reach only the role Job's Secret, as username/password (no URL), re-read every 5 minutes.
            const admin = byName["candlefish-db-admin"];
            assert.deepEqual(admin.spec.data.map((d: any) => [d.secretKey, d.remoteRef.key, d.remoteRef.property]), [["username", master, "username"], ["password", master, "password"]]);
            assert.equal(admin.spec.target.template, undefined);
            assert.equal(admin.spec.refreshInterval, "5m");
            const masterReaders = Object.entries(byName).filter(([, es]) => JSON.stringify(es.spec).includes("rds!db-")).map(([n]) => n);
            assert.deepEqual(masterReaders, ["candlefish-db-admin"]);
            const redis = byName["candlefish-redis"];
            assert.deepEqual(redis.spec.data, [{ secretKey: "token", remoteRef: { key: "candlefish/production/redis-auth", property: "auth-token" } }]);
            assert.equal(
                redis.spec.target.template.data.REDIS_URL,
                "rediss://:{{ .token | urlquery }}@master.candlefish-production-redis.abcdef.use1.cache.amazonaws.com:6379/0",
            );
        });

        it("ClusterSecretStore and ExternalSecrets validate against the external-secrets.io/v1beta1 schemas", async () => {
            const objs = [...ofType(prod, CSS), ...ofType(prod, ES)].map((r) => inputs(r));
            assert.equal(objs.length, 7);
            for (const obj of objs) {
                const mod = await importModel(`@kubernetes-models/external-secrets/external-secrets.io/v1beta1/${obj.kind}`);
                assert.doesNotThrow(() => new mod[obj.kind](obj).validate(), `${obj.kind} ${obj.metadata.name}`);
            }
            // The check has teeth: a misspelt creationPolicy is refused.
            const bad = { ...objs[1], spec: { ...objs[1].spec, target: { ...objs[1].spec.target, creationPolicy: "Owned" } } };
            const mod = await importModel("@kubernetes-models/external-secrets/external-secrets.io/v1beta1/ExternalSecret");
            assert.throws(() => new mod.ExternalSecret(bad).validate());
        });
    });

    describe("wiring into the services", () => {
        it("each service gets exactly its platform secrets, on both colors, by secretKeyRef: JWT_SECRET (which can mint tokens) only to rtpm-api and otter-gateway", () => {
            const expected: Record<string, Record<string, string>> = {
                "rtpm-api": { DATABASE_URL: "rtpm-api-database", REDIS_URL: "candlefish-redis", JWT_SECRET: "candlefish-jwt" },
                "candlefish-website": {},
                "otter-gateway": { JWT_SECRET: "candlefish-jwt" },
                "nanda-api": {},
            };
            assert.deepEqual(Object.keys(SERVICE_CATALOG).sort(), Object.keys(expected).sort());
            for (const svc of SERVICES) {
                for (const color of ["blue", "green"]) {
                    const env = envOf(prod, `${svc}-${color}`);
                    const fromSecrets = Object.fromEntries(
                        Object.entries(env)
                            .filter(([, e]) => e.valueFrom?.secretKeyRef)
                            .map(([k, e]) => [k, e.valueFrom.secretKeyRef.name]),
                    );
                    assert.deepEqual(fromSecrets, expected[svc], `${svc}-${color}`);
                    for (const k of Object.keys(expected[svc])) assert.equal(env[k].valueFrom.secretKeyRef.key, k);
                }
            }
        });

        it("the rtpm-api migration Jobs get the same DATABASE_URL as the Deployments", () => {
            const jobs = ofType(prod, "kubernetes:batch/v1:Job").filter((j) => j.name.startsWith("rtpm-api"));
            assert.ok(jobs.length >= 1);
            for (const j of jobs) {
                const env = inputs(j).spec.template.spec.containers[0].env;
                assert.deepEqual(env.find((e: { name: string }) => e.name === "DATABASE_URL").valueFrom, {
                    secretKeyRef: { name: "rtpm-api-database", key: "DATABASE_URL" },
                });
            }
        });

        it("every Deployment carries checksum/secrets, the same hash the ExternalSecrets force-sync on", () => {
            const sums = new Set<string>();
            for (const svc of SERVICES)
                for (const color of ["blue", "green"]) sums.add(inputs(find(prod, DEPLOYMENT, `${svc}-${color}`)).spec.template.metadata.annotations["checksum/secrets"]);
            assert.equal(sums.size, 1);
            const [sum] = [...sums];
            assert.match(sum, /^[0-9a-f]{64}$/);
            for (const es of ofType(prod, ES)) assert.equal(inputs(es).metadata.annotations["force-sync"], sum);
        });
    });

    describe("rotation as config (secrets.jwtSecretVersion)", () => {
        it("bumping it regenerates the JWT secret and rolls every Deployment through its checksum, and nothing stateful changes", async () => {
            const after = await renderStack("production", ["secrets.jwtSecretVersion=2"]);
            const d = diffRenders(prod, after);
            assert.deepEqual(d.added, []);
            assert.deepEqual(d.removed, []);
            const changed = new Map(d.changed.map((c) => [`${c.type}::${c.name}`, c.paths]));
            // The new value ...
            assert.deepEqual(changed.get("random:index/randomPassword:RandomPassword::secrets-jwt"), ["keepers.version"]);
            assert.deepEqual(changed.get(`${VERSION}::secrets-jwt-secret`), ["secretString"]);
            assert.notEqual(
                JSON.parse(inputs(find(after, VERSION, "secrets-jwt-secret")).secretString)["jwt-secret"],
                JSON.parse(inputs(find(prod, VERSION, "secrets-jwt-secret")).secretString)["jwt-secret"],
            );
            // ... re-synced at once ...
            for (const es of ofType(prod, ES)) assert.deepEqual(changed.get(`${ES}::${es.name}`), ["metadata.annotations.force-sync"]);
            // ... and every color of every service rolls, through the pod-template checksum only.
            for (const svc of SERVICES)
                for (const color of ["blue", "green"])
                    assert.deepEqual(changed.get(`${DEPLOYMENT}::${svc}-${color}`), ["spec.template.metadata.annotations.checksum/secrets"], `${svc}-${color}`);
            const expected = 1 + 1 + ofType(prod, ES).length + SERVICES.length * 2;
            assert.equal(d.changed.length, expected, `unexpected changes: ${JSON.stringify(d.changed.map((c) => c.name))}`);
        });

        it("a version below 1 is refused, naming the key", async () => {
            await assert.rejects(renderWith("staging", ["secrets.jwtSecretVersion=0"]), /secrets\.jwtSecretVersion: expected an integer >= 1, got 0/);
        });
    });
});
