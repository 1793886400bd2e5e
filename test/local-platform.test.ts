// The foundation is chosen in one place (config `platform`) and the app tier
// is composed once over it. Pulumi.local.yaml (and Pulumi.development.yaml)
// run that app tier on an existing cluster with no AWS at all; production and
// staging still build everything on AWS, with the URNs they always had.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { Rendered, Secret, render } from "../plan/render";
import { mocks } from "../plan/mocks";
import { ROOT, SECURE_PLACEHOLDER } from "../plan/stackfile";
import { evaluatePolicies } from "../plan/policy";
import { POLICIES } from "../policies/pack";
import { AWS_ONLY_KEYS, DEFAULT_LOCAL_REGISTRY } from "../config/foundation";
import { undeliveredSecrets } from "../config";
import { K8S_SECRETS } from "../components/secrets";
import { databaseUrl, redisUrl } from "../components/cluster-secrets";
import { LOCAL_PROVIDER, ambientKubeconfig } from "../platforms/local";
import { LOCAL_STACK_PASSPHRASE, passphraseDecrypter, secureValues } from "./passphrase";
import { DEPLOYMENT, PDB, SERVICE, SERVICES, diffRenders, expectRejected, find, inputs, ofType, parseStack, parseWith, renderStack, renderWith, stackConfig } from "./harness";

const SECRET = "kubernetes:core/v1:Secret";
const PROVIDER_REF = `pulumi:providers:kubernetes::${LOCAL_PROVIDER}`;
const NS = "candlefish-local";

/** Renders with every invoke (data source lookup) the program makes recorded. */
async function renderCountingInvokes(stack: string): Promise<{ rendered: Rendered; invokes: string[] }> {
    const original = mocks.call;
    const invokes: string[] = [];
    mocks.call = (args) => {
        invokes.push(args.token);
        return original.call(mocks, args);
    };
    try {
        return { rendered: await renderStack(stack), invokes };
    } finally {
        mocks.call = original;
    }
}

/** A container's env entries that come from Secrets: name -> "<Secret>/<key>". */
function secretEnv(deployment: any): Record<string, string> {
    const env: any[] = deployment.spec.template.spec.containers[0].env ?? [];
    return Object.fromEntries(env.filter((e) => e.valueFrom).map((e) => [e.name, `${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`]));
}

describe("platform local: the app tier on an existing cluster, no AWS (Pulumi.local.yaml)", function () {
    this.timeout(120000);
    let local: Rendered;
    let prod: Rendered;
    let invokes: string[];
    before(async () => {
        ({ rendered: local, invokes } = await renderCountingInvokes("local"));
        prod = await renderStack("production");
    });

    it("registers no AWS, EKS, random or Helm resource and makes no AWS lookup", () => {
        // Packages of every type token: our components, Kubernetes, and Pulumi's own
        // (the kubernetes provider, the StackReference to this stack, the promotion gates).
        const packages = new Set(local.resources.map((r) => (r.type.startsWith("pulumi:providers:") ? r.type : r.type.split(":")[0])));
        assert.deepEqual([...packages].sort(), ["candlefish", "kubernetes", "pulumi", "pulumi-nodejs", "pulumi:providers:kubernetes"]);
        assert.deepEqual(ofType(local, "kubernetes:helm.sh/v3:Release"), []);
        assert.deepEqual(invokes, []);
    });

    it("every Kubernetes resource uses the one explicit provider, which reads the ambient kubeconfig (none in its inputs)", async () => {
        const providers = ofType(local, "pulumi:providers:kubernetes");
        assert.deepEqual(providers.map((p) => p.name), [LOCAL_PROVIDER]);
        assert.deepEqual(inputs(providers[0]), { enableServerSideApply: "true" });
        const k8s = local.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:"));
        assert.ok(k8s.length >= 30);
        for (const r of k8s) assert.equal(r.options.provider, PROVIDER_REF, `${r.type} ${r.name}`);
        // local.kubeContext picks a context of that kubeconfig.
        const ctx = await renderWith("local", ["local.kubeContext=kind-candlefish"]);
        assert.deepEqual(inputs(find(ctx, "pulumi:providers:kubernetes", LOCAL_PROVIDER)), { context: "kind-candlefish", enableServerSideApply: "true" });
    });

    for (const name of SERVICES) {
        it(`${name}: the same Deployments, live and preview Services and PDBs as on AWS, in ${NS}, blue live`, () => {
            for (const [type, objects] of [
                [DEPLOYMENT, [`${name}-blue`, `${name}-green`]],
                [SERVICE, [`${name}-service`, `${name}-preview`]],
                [PDB, [`${name}-blue`, `${name}-green`]],
            ] as const) {
                for (const o of objects) {
                    const l = inputs(find(local, type, o));
                    assert.equal(l.metadata.name, inputs(find(prod, type, o)).metadata.name);
                    assert.equal(l.metadata.namespace, NS);
                }
            }
            assert.deepEqual(inputs(find(local, SERVICE, `${name}-service`)).spec.selector, { app: name, version: "blue" });
            assert.deepEqual(inputs(find(local, SERVICE, `${name}-preview`)).spec.selector, { app: name, version: "green" });
        });

        it(`${name}: images come from local.registry, and the app reads the same secret env (variables, Secrets, keys) as on AWS`, () => {
            for (const color of ["blue", "green"]) {
                const l = inputs(find(local, DEPLOYMENT, `${name}-${color}`));
                assert.match(l.spec.template.spec.containers[0].image, new RegExp(`^${DEFAULT_LOCAL_REGISTRY}/${name}:v\\d+\\.\\d+\\.\\d+$`));
                assert.deepEqual(secretEnv(l), secretEnv(inputs(find(prod, DEPLOYMENT, `${name}-${color}`))));
            }
        });
    }

    it("rtpm-api gets DATABASE_URL, REDIS_URL and JWT_SECRET from the Secrets ESO writes on AWS", () => {
        assert.deepEqual(secretEnv(inputs(find(local, DEPLOYMENT, "rtpm-api-blue"))), {
            DATABASE_URL: "rtpm-api-database/DATABASE_URL",
            JWT_SECRET: "candlefish-jwt/JWT_SECRET",
            REDIS_URL: "candlefish-redis/REDIS_URL",
        });
    });

    it("the app tier is composed once: every resource of the local stack but its provider and Secrets has a twin in production (type, name, parent)", () => {
        const key = (r: { type: string; name: string; options: { parent: string | null } }) => `${r.type}::${r.name} <- ${r.options.parent}`;
        const inProd = new Set(prod.resources.map(key));
        const localOnly = local.resources.filter((r) => !inProd.has(key(r))).map(key);
        assert.deepEqual(localOnly.sort(), [
            `${SECRET}::app-secrets-candlefish-config <- candlefish:data:ClusterSecrets::app-secrets`,
            `${SECRET}::app-secrets-candlefish-jwt <- candlefish:data:ClusterSecrets::app-secrets`,
            `${SECRET}::app-secrets-candlefish-redis <- candlefish:data:ClusterSecrets::app-secrets`,
            `${SECRET}::app-secrets-rtpm-api-database <- candlefish:data:ClusterSecrets::app-secrets`,
            // The namespace is named after the stack's namespace key (production's is production).
            `candlefish:apps:AppNamespace::${NS} <- null`,
            "candlefish:data:ClusterSecrets::app-secrets <- null",
            `kubernetes:core/v1:Namespace::${NS} <- candlefish:apps:AppNamespace::${NS}`,
            // Its database and cache run in the app namespace, so their pods accept their clients.
            "kubernetes:networking.k8s.io/v1:NetworkPolicy::app-network-database-in-namespace <- candlefish:apps:AppNetworkPolicies::app-network",
            "kubernetes:networking.k8s.io/v1:NetworkPolicy::app-network-redis-in-namespace <- candlefish:apps:AppNetworkPolicies::app-network",
            `kubernetes:networking.k8s.io/v1:NetworkPolicy::${NS}-allow-dns <- candlefish:apps:AppNamespace::${NS}`,
            `kubernetes:networking.k8s.io/v1:NetworkPolicy::${NS}-default-deny <- candlefish:apps:AppNamespace::${NS}`,
            `kubernetes:networking.k8s.io/v1:NetworkPolicy::${NS}-default-deny-egress <- candlefish:apps:AppNamespace::${NS}`,
            `pulumi:providers:kubernetes::${LOCAL_PROVIDER} <- null`,
        ].sort());
    });

    it("secrets are plain Kubernetes Secrets with the names and keys the apps read, every value secret", () => {
        const secrets = ofType(local, SECRET);
        assert.deepEqual(secrets.map((s) => inputs(s).metadata.name).sort(), Object.values(K8S_SECRETS).sort());
        for (const s of secrets) {
            // An empty map is left out (the provider replaced a Secret with empty stringData on every up).
            if (inputs(s).metadata.name === K8S_SECRETS.config) assert.equal(s.inputs.stringData, undefined);
            else assert.ok(s.inputs.stringData instanceof Secret, `${s.name} stringData is secret`);
            assert.equal(inputs(s).metadata.namespace, NS);
        }
        const data = (n: string) => inputs(secrets.find((s) => inputs(s).metadata.name === n)!).stringData;
        assert.deepEqual(data(K8S_SECRETS.database), {
            DATABASE_URL: `postgresql://candlefish:${SECURE_PLACEHOLDER}@postgres.candlefish-local.svc.cluster.local:5432/candlefish?sslmode=prefer`,
        });
        assert.deepEqual(data(K8S_SECRETS.redis), { REDIS_URL: `redis://:${SECURE_PLACEHOLDER}@redis.candlefish-local.svc.cluster.local:6379/0` });
        assert.deepEqual(data(K8S_SECRETS.jwt), { JWT_SECRET: SECURE_PLACEHOLDER });
        assert.equal(data(K8S_SECRETS.config), undefined);
        // On AWS the same names and keys are what the ExternalSecrets produce.
        const es = (n: string) => inputs(find(prod, "kubernetes:external-secrets.io/v1beta1:ExternalSecret", `secret-delivery-${n}`)).spec.target;
        assert.deepEqual(Object.keys(es(K8S_SECRETS.database).template.data), ["DATABASE_URL"]);
        assert.deepEqual(Object.keys(es(K8S_SECRETS.redis).template.data), ["REDIS_URL"]);
        assert.equal(es(K8S_SECRETS.jwt).name, K8S_SECRETS.jwt);
    });

    it("a new secret value rolls every Deployment through checksum/secrets and rewrites only its own Secret", async () => {
        const d = diffRenders(local, await renderWith("local", ["local.jwtSecret=rotated-local-signing-secret"]));
        assert.deepEqual(d.added, []);
        assert.deepEqual(d.removed, []);
        const changed = Object.fromEntries(d.changed.map((c) => [`${c.type}::${c.name}`, c.paths]));
        assert.deepEqual(changed[`${SECRET}::app-secrets-candlefish-jwt`], ["stringData.JWT_SECRET"]);
        const rolled = d.changed.filter((c) => c.type === DEPLOYMENT);
        assert.equal(rolled.length, ofType(local, DEPLOYMENT).length - 1); // all but the maintenance page, which reads no secret
        for (const c of rolled) assert.deepEqual(c.paths, ["spec.template.metadata.annotations.checksum/secrets"], c.name);
        assert.equal(d.changed.length, rolled.length + 1);
    });

    it("extra config secrets reach only the services that list them, from candlefish-config, as secrets.config does on AWS", async () => {
        const r = await renderWith("local", ["local.config.ANALYTICS_KEY=abc", "services.nanda-api.secrets[0]=ANALYTICS_KEY"]);
        const cfg = ofType(r, SECRET).find((s) => inputs(s).metadata.name === K8S_SECRETS.config)!;
        assert.deepEqual(inputs(cfg).stringData, { ANALYTICS_KEY: "abc" });
        for (const name of SERVICES)
            assert.equal(secretEnv(inputs(find(r, DEPLOYMENT, `${name}-blue`))).ANALYTICS_KEY, name === "nanda-api" ? "candlefish-config/ANALYTICS_KEY" : undefined, name);
        // A key no service lists is stored and delivered to nobody: the program warns, naming it.
        assert.deepEqual(undeliveredSecrets(parseStack("local", ["local.config.ANALYTICS_KEY=abc"])), [
            "local.config.ANALYTICS_KEY: reaches no service: secrets are delivered per service. List ANALYTICS_KEY in services.<name>.secrets of each service that needs it",
        ]);
        assert.deepEqual(undeliveredSecrets(parseStack("local", ["local.config.ANALYTICS_KEY=abc", "services.nanda-api.secrets[0]=ANALYTICS_KEY"])), []);
    });

    it("connection strings URL-encode credentials; Redis without a password or with TLS", () => {
        const db = { host: "db", port: 5433, name: "candlefish", user: "app", password: "p@ss/w:rd", sslMode: "require" } as const;
        assert.equal(databaseUrl(db), "postgresql://app:p%40ss%2Fw%3Ard@db:5433/candlefish?sslmode=require");
        assert.equal(redisUrl({ host: "redis", port: 6379, password: undefined, tls: false }), "redis://redis:6379/0");
        assert.equal(redisUrl({ host: "redis", port: 6380, password: "a b", tls: true }), "rediss://:a%20b@redis:6380/0");
    });

    it(`passes the policy pack: all ${POLICIES.length} policies, no violation`, async () => {
        const report = await evaluatePolicies(local);
        assert.equal(report.policies, POLICIES.length);
        assert.deepEqual(report.violations, []);
    });

    it("stack outputs: the app tier's, and none of the AWS foundation's", () => {
        assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(local.outputs))).sort(), ["deployedServices", "liveColors", "maintenanceMode", "maintenancePage", "migrationHighWater", "namespace", "promotionState", "readOnlyMode", "repositoryUrls"]);
        assert.equal((local.outputs.repositoryUrls as Record<string, string>)["rtpm-api"], `${DEFAULT_LOCAL_REGISTRY}/rtpm-api`);
    });

    it("the kubeconfig a check reads is the provider's: the first readable KUBECONFIG file, else ~/.kube/config", () => {
        assert.equal(ambientKubeconfig({ KUBECONFIG: "/nonexistent/a:/nonexistent/b" }), "");
        assert.match(ambientKubeconfig({ KUBECONFIG: `/nonexistent/a:${__filename}` }), /platform local/);
    });
});

describe("platform: chosen by one config key", function () {
    this.timeout(60000);

    it("defaults to aws (production, staging); the local and development stack files say local", () => {
        assert.equal(parseWith("production").platform, "aws");
        assert.equal(parseWith("staging").platform, "aws");
        const local = parseStack("local");
        assert.ok(local.platform === "local");
        assert.equal(local.namespace, NS);
        assert.equal(local.environment, "development");
        assert.equal(local.local.registry, DEFAULT_LOCAL_REGISTRY);
        assert.deepEqual(local.local.database, {
            host: "postgres.candlefish-local.svc.cluster.local",
            port: 5432,
            name: "candlefish",
            user: "candlefish",
            password: SECURE_PLACEHOLDER,
            sslMode: "prefer",
        });
    });

    it("a misspelt platform is refused with a did-you-mean, and nothing is registered", async () => {
        for (const [stack, value] of [["local", "lcoal"], ["production", "Local"], ["staging", "AWS"]]) {
            const { message, registered } = await expectRejected(stack, [`platform=${value}`]);
            assert.equal(registered, 0);
            const hint = value === "AWS" ? "aws" : "local";
            assert.equal(message, `invalid stack config:\n  - platform: expected one of "aws", "local", got "${value}"; did you mean "${hint}"?`);
        }
        const { message } = await expectRejected("local", ["platform=kubernetes"]);
        assert.match(message, /- platform: expected one of "aws", "local", got "kubernetes"$/);
    });

    for (const key of Object.keys(AWS_ONLY_KEYS)) {
        it(`an AWS-only key on a local stack is refused, naming it: ${key}`, async () => {
            const { message, registered } = await expectRejected("local", [], { [key]: key === "domain" ? "dev.candlefish.ai" : {} });
            assert.equal(registered, 0);
            assert.match(message, new RegExp(`^  - ${key}: configures .*, which only platform "aws" has; this stack runs on platform "local"\\. Remove it \\(pulumi config rm ${key}\\)`, "m"));
        });
    }

    it("the AWS-only keys name their local replacement; `local` on an AWS stack is refused too", async () => {
        assert.match((await expectRejected("local", ["database.instanceClass=db.t4g.small"])).message, /- database: .* and set local\.database instead$/m);
        assert.match((await expectRejected("local", ["cache.nodeType=cache.t4g.small"])).message, /- cache: .* and set local\.redis instead$/m);
        const { message, registered } = await expectRejected("staging", ["local.registry=registry.local:5000/x"]);
        assert.equal(registered, 0);
        assert.match(message, /- local: configures platform "local", but this stack runs on platform "aws"/);
    });

    it("a local stack needs its secrets, stored as secrets", async () => {
        const missing = await expectRejected("local", [], { local: { registry: DEFAULT_LOCAL_REGISTRY } });
        assert.match(missing.message, /- local\.database\.password: required: .*pulumi config set --secret --path local\.database\.password <value>/);
        assert.match(missing.message, /- local\.jwtSecret: required: .*pulumi config set --secret --path local\.jwtSecret <value>/);
        const plain = await expectRejected("local", [], { local: { database: { password: "pw" }, jwtSecret: "j" } }, { plaintext: ["local"] });
        assert.equal(plain.registered, 0);
        assert.match(plain.message, /- local\.database\.password: must be stored as a secret; re-set it with `pulumi config set --secret --path local\.database\.password <value>`/);
    });

    it("local values are checked: registry, hosts, ports, sslMode, reserved env names", async () => {
        const { message } = await expectRejected("local", [
            "local.registry=Registry.Local/candlefish:latest",
            "local.database.port=70000",
            "local.database.sslMode=requir",
            "local.redis.host=redis host",
        ]);
        assert.match(message, /- local\.registry: expected an image registry and path without a tag/);
        assert.match(message, /- local\.database\.port: expected an integer from 1 to 65535, got 70000/);
        assert.match(message, /- local\.database\.sslMode: expected one of "disable", "prefer", "require", "verify-ca", "verify-full", got "requir"; did you mean "require"\?/);
        assert.match(message, /- local\.redis\.host: expected a host name/);
        const reserved = await expectRejected("local", ["local.config.DATABASE_URL=x"]);
        assert.equal(reserved.message, "invalid stack config:\n  - local.config.DATABASE_URL: DATABASE_URL is delivered by the platform itself; choose another name");
    });

    it("production and maintenance mode need AWS; a local stack refuses them by name", async () => {
        const { message } = await expectRejected("local", ["environment=production", "maintenanceMode=true"]);
        assert.match(message, /- environment: production runs on the AWS foundation/);
        assert.match(message, /- maintenanceMode: routes the domain through the Ingress, which platform "local" does not install/);
    });

    it("the local stacks' secrets are real ciphertext under the published local-only passphrase, and only under it", () => {
        for (const stack of ["local", "development"]) {
            const doc = YAML.parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8"));
            const decrypt = passphraseDecrypter(doc.encryptionsalt, LOCAL_STACK_PASSPHRASE);
            assert.deepEqual(secureValues(doc.config).map((v) => v.path), [
                "candlefish-maturity-map:local.database.password",
                "candlefish-maturity-map:local.redis.password",
                "candlefish-maturity-map:local.jwtSecret",
            ]);
            for (const v of secureValues(doc.config)) assert.match(decrypt(v.ciphertext), /^candlefish-local-/);
            assert.throws(() => passphraseDecrypter(doc.encryptionsalt, "another passphrase"), /unable to authenticate|Unsupported state/);
        }
    });

    it("the development stack (runbook: Environments) is the local foundation in the development namespace", async () => {
        const dev = parseStack("development");
        assert.ok(dev.platform === "local");
        assert.equal(dev.namespace, "development");
        assert.equal(dev.environment, "development");
        const r = await renderStack("development");
        assert.deepEqual(ofType(r, "kubernetes:core/v1:Namespace").map((n) => inputs(n).metadata.name), ["development"]);
        assert.deepEqual(r.resources.filter((x) => x.type.startsWith("aws:")), []);
    });

    it("a personal AWS stack (dev-<you>, environment development) is the AWS foundation at staging size in the development namespace", async () => {
        // `pulumi stack init dev-alice` with staging's settings and `environment: development`.
        const r = await render({ stack: "dev-alice", ...stackConfig("staging", ["environment=development"]) });
        assert.deepEqual(ofType(r, "kubernetes:core/v1:Namespace").map((n) => inputs(n).metadata.name).filter((n) => n === "development"), ["development"]);
        const ns = (type: string, name: string) => inputs(r.resources.find((x) => x.type === type && x.name === name)!).metadata.namespace;
        assert.equal(ns("kubernetes:apps/v1:Deployment", "rtpm-api-blue"), "development");
        // Its AWS resources are its own (named after the stack), at the non-production sizes.
        const db = inputs(r.resources.find((x) => x.type === "aws:rds/instance:Instance")!);
        assert.equal(db.identifier, "candlefish-maturity-map-dev-alice-db");
        assert.equal(db.instanceClass, "db.t4g.medium");
        assert.equal(db.multiAz, false);
        assert.equal(inputs(r.resources.find((x) => x.type === "aws:s3/bucket:Bucket")!).bucket, "candlefish-backups-dev-alice-123456789012-us-east-1-an");
    });

    it("production and staging keep their top-level resources, so no URN moved with the foundation split", async () => {
        const top = async (stack: string) => (await renderStack(stack)).resources.filter((r) => r.options.parent === null).map((r) => `${r.type}::${r.name}`).sort();
        for (const stack of ["production", "staging"]) {
            assert.deepEqual(await top(stack), [
                `candlefish:apps:AppNamespace::${stack}`,
                "candlefish:apps:AppNetworkPolicies::app-network",
                "candlefish:apps:BlueGreenService::candlefish-website",
                "candlefish:apps:BlueGreenService::nanda-api",
                "candlefish:apps:BlueGreenService::otter-gateway",
                "candlefish:apps:BlueGreenService::rtpm-api",
                `candlefish:cluster:Cluster::candlefish-maturity-map-${stack}-eks`,
                "candlefish:data:AppSecrets::secrets",
                "candlefish:data:Backups::backups",
                "candlefish:data:Cache::cache",
                "candlefish:data:Database::database",
                "candlefish:data:DatabaseCredentials::database-credentials",
                "candlefish:data:DatabaseRoles::database-roles",
                "candlefish:data:LogicalBackup::logical-backup",
                "candlefish:data:SecretDelivery::secret-delivery",
                "candlefish:database:RdsCaBundle::rds-ca",
                // New with issue 12: the Route53 zone (found or created) and the stack's one AWS provider.
                "candlefish:dns:DnsZone::dns",
                "candlefish:ingress:Ingress::ingress",
                "candlefish:monitoring:CloudWatchExporter::cloudwatch-exporter",
                "candlefish:monitoring:Monitoring::monitoring",
                `candlefish:network:Network::candlefish-${stack}`,
                "candlefish:operations:MaintenancePage::maintenance-page",
                "candlefish:operations:Migrations::rtpm-api-migrations",
                "candlefish:platform:PlatformNetworkPolicies::platform-network",
                "candlefish:registry:Registry::ecr",
                "candlefish:tls:Certificates::tls",
                "pulumi:providers:aws::aws",
                "pulumi:pulumi:StackReference::previous-promotion-state",
            ]);
        }
    });
});
