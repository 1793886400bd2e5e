// Ingress: ingress-nginx (pinned) behind an NLB, the Ingress routing the
// domain to the website and each API host to its live `<name>-service`,
// HTTP -> HTTPS, Route53 alias records, maintenance routing, and bad platform
// config refused before anything is registered.
import { strict as assert } from "assert";
import { Rendered } from "../plan/render";
import { HEALTH_PATHS, INGRESS_NGINX_CHART_VERSION, hostPaths } from "../components/ingress";
import { SERVICE, diffRenders, expectRejected, find, inputs, ofType, parseWith, renderBoth, renderStack, renderWith } from "./harness";
import { mocks } from "../plan/mocks";
import { ConfigError } from "../config";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const INGRESS = "kubernetes:networking.k8s.io/v1:Ingress";
const RECORD = "aws:route53/record:Record";
const NLB_DNS = "ingress-nginx-0123456789abcdef.elb.us-east-1.amazonaws.com";

type Rule = { host: string; http: { paths: { path: string; pathType: string; backend: { service: { name: string; port: { number: number } } } }[] } };
const rules = (r: Rendered): Rule[] => inputs(find(r, INGRESS, "ingress-ingress")).spec.rules;
/** host -> [path, pathType, service] */
const routing = (r: Rendered) =>
    Object.fromEntries(rules(r).map((x) => [x.host, x.http.paths.map((p) => [p.path, p.pathType, p.backend.service.name, p.backend.service.port.number])]));

describe("ingress: controller, routing, TLS and DNS", () => {
    let prod: Rendered;
    let staging: Rendered;
    before(async function () {
        this.timeout(60000);
        ({ prod, staging } = await renderBoth());
    });

    it("installs ingress-nginx (chart pinned) behind an internet-facing NLB tagged for the DNS lookup, with HTTP->HTTPS and HSTS", () => {
        const rel = find(prod, RELEASE, "ingress-controller");
        const i = inputs(rel);
        assert.equal(i.chart, "ingress-nginx");
        assert.equal(i.version, INGRESS_NGINX_CHART_VERSION);
        assert.equal(i.repositoryOpts.repo, "https://kubernetes.github.io/ingress-nginx");
        assert.equal(i.namespace, "ingress-nginx");
        const c = i.values.controller;
        assert.equal(c.replicaCount, 3);
        assert.equal(c.ingressClassResource.name, "nginx");
        assert.equal(c.config["ssl-redirect"], "true");
        assert.equal(c.config.hsts, "true");
        assert.equal(c.config["allow-snippet-annotations"], "false");
        assert.equal(c.service.externalTrafficPolicy, "Local");
        const ann = c.service.annotations;
        assert.equal(ann["service.beta.kubernetes.io/aws-load-balancer-type"], "nlb");
        assert.equal(ann["service.beta.kubernetes.io/aws-load-balancer-scheme"], "internet-facing");
        assert.equal(ann["service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags"], "candlefish.ai/ingress=candlefish-maturity-map-production");
        // Staging is smaller and tagged for its own stack.
        const s = inputs(find(staging, RELEASE, "ingress-controller")).values.controller;
        assert.equal(s.replicaCount, 2);
        assert.equal(s.service.annotations["service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags"], "candlefish.ai/ingress=candlefish-maturity-map-staging");
    });

    it("routes candlefish.ai to candlefish-website-service and each API host to its live <name>-service, never to a color", () => {
        assert.deepEqual(routing(prod), {
            "candlefish.ai": [["/", "Prefix", "candlefish-website-service", 80]],
            "nanda-api.candlefish.ai": [["/", "Prefix", "nanda-api-service", 80]],
            "otter-gateway.candlefish.ai": [["/", "Prefix", "otter-gateway-service", 80]],
            "rtpm-api.candlefish.ai": [["/", "Prefix", "rtpm-api-service", 80]],
        });
        const ing = inputs(find(prod, INGRESS, "ingress-ingress"));
        assert.equal(ing.metadata.namespace, "production");
        assert.equal(ing.spec.ingressClassName, "nginx");
        assert.deepEqual(ing.spec.tls, [{ hosts: ["candlefish.ai", "nanda-api.candlefish.ai", "otter-gateway.candlefish.ai", "rtpm-api.candlefish.ai"], secretName: "candlefish-ai-tls" }]);
        assert.equal(ing.metadata.annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"], "true");
        // Every backend is a live Service the program declares.
        const live = new Set(ofType(prod, SERVICE).map((s) => inputs(s).metadata.name));
        for (const r of rules(prod)) for (const p of r.http.paths) assert.ok(live.has(p.backend.service.name), p.backend.service.name);
        // The admission webhook runs before the Ingress is validated.
        assert.ok(find(prod, INGRESS, "ingress-ingress").options.dependsOn.includes(`${RELEASE}::ingress-controller`));
    });

    it("staging routes staging.candlefish.ai and <api>.staging.candlefish.ai", () => {
        assert.deepEqual(Object.keys(routing(staging)), [
            "staging.candlefish.ai",
            "nanda-api.staging.candlefish.ai",
            "otter-gateway.staging.candlefish.ai",
            "rtpm-api.staging.candlefish.ai",
        ]);
    });

    it("ingress.hosts overrides an API's host (and the certificate follows)", async () => {
        const r = await renderStack("production", ["ingress.hosts.rtpm-api=api.candlefish.ai"]);
        assert.deepEqual(routing(r)["api.candlefish.ai"], [["/", "Prefix", "rtpm-api-service", 80]]);
        assert.equal(routing(r)["rtpm-api.candlefish.ai"], undefined);
        const cert = inputs(find(r, "kubernetes:cert-manager.io/v1:Certificate", "tls-candlefish-ai-tls"));
        assert.ok(cert.spec.dnsNames.includes("api.candlefish.ai"));
        assert.ok(!cert.spec.dnsNames.includes("rtpm-api.candlefish.ai"));
        assert.ok(ofType(r, RECORD).some((x) => inputs(x).name === "api.candlefish.ai"));
    });

    it("Route53: an alias A record per host to the tagged NLB, in the zone looked up by name; an existing record is never overwritten by default", () => {
        const recs = ofType(prod, RECORD).map(inputs);
        assert.deepEqual(recs.map((x) => x.name).sort(), ["candlefish.ai", "nanda-api.candlefish.ai", "otter-gateway.candlefish.ai", "rtpm-api.candlefish.ai"]);
        for (const x of recs) {
            assert.equal(x.type, "A");
            // plan/mocks answers getZone with ZMOCK<length of the name>: the lookup was for candlefish.ai.
            assert.equal(x.zoneId, `ZMOCK${"candlefish.ai".length}`);
            assert.deepEqual(x.aliases, [{ name: NLB_DNS, zoneId: "Z26RNL4JYFTOTI", evaluateTargetHealth: true }]);
            assert.equal(x.allowOverwrite, false, "dns.overwriteRecords defaults to false: AWS refuses to create over an existing record");
        }
        assert.equal(prod.outputs.loadBalancerHostname, NLB_DNS);
        assert.deepEqual(prod.outputs.urls, ["https://candlefish.ai", "https://nanda-api.candlefish.ai", "https://otter-gateway.candlefish.ai", "https://rtpm-api.candlefish.ai"]);
    });

    it("dns.zoneId skips the lookup; dns.enabled=false declares no records", async () => {
        const withId = await renderStack("staging", ["dns.zoneId=Z0123456789ABCDEFGHIJ"]);
        const recs = ofType(withId, RECORD).map(inputs);
        assert.equal(recs.length, 4);
        for (const x of recs) assert.equal(x.zoneId, "Z0123456789ABCDEFGHIJ");
        const off = await renderStack("staging", ["dns.enabled=false"]);
        assert.equal(ofType(off, RECORD).length, 0);
        assert.equal(ofType(off, INGRESS).length, 1);
    });

    it("a color flip changes only Service selectors: the Ingress, records, certificate and monitoring stay as they are", async () => {
        const flipped = await renderStack("production", ["activeColor=green"]);
        const d = diffRenders(prod, flipped);
        // Besides selectors, only the promotion gates are added and removed (one per service).
        assert.deepEqual([...d.added, ...d.removed].filter((x) => !/-gate-(blue|green)$/.test(x.name)), []);
        assert.ok(d.changed.length > 0);
        for (const c of d.changed) {
            assert.equal(c.type, SERVICE, `${c.type} ${c.name} changed: ${c.paths.join(", ")}`);
            assert.deepEqual(c.paths, ["spec.selector.version"], `${c.name}`);
        }
        // Both Services of each of the four apps (live and preview) moved, and nothing else.
        assert.equal(d.changed.length, 8);
    });
});

describe("DNS: the zone is created or used as dns.zone says; existing records only by decision (issue 12 item 2)", function () {
    this.timeout(60000);
    const ZONE = "aws:route53/zone:Zone";
    const HOSTS = ["staging.candlefish.ai", "nanda-api.staging.candlefish.ai", "otter-gateway.staging.candlefish.ai", "rtpm-api.staging.candlefish.ai"];

    /** The tokens of the invokes the mocks answer while `fn` runs. */
    async function lookups<T>(fn: () => Promise<T>): Promise<{ result: T; tokens: string[] }> {
        const original = mocks.call;
        const tokens: string[] = [];
        mocks.call = (args) => (tokens.push(args.token), original.call(mocks, args));
        try {
            return { result: await fn(), tokens };
        } finally {
            mocks.call = original;
        }
    }

    it("dns.zone=existing (staging's stack file): the public zone is looked up by name and no zone is created", async () => {
        const { result: r, tokens } = await lookups(() => renderStack("staging"));
        assert.equal(ofType(r, ZONE).length, 0);
        assert.ok(tokens.includes("aws:route53/getZone:getZone"));
        assert.deepEqual(ofType(r, RECORD).map((x) => inputs(x).zoneId), Array(4).fill("ZMOCK13"));
        assert.equal(r.outputs.dnsZoneId, "ZMOCK13");
    });

    it("dns.zone=create: the stack creates the public zone (protected), puts the records and the DNS-01 role in it, and outputs its name servers to delegate to", async () => {
        const { result: r, tokens } = await lookups(() => renderStack("staging", ["dns.zone=create"]));
        const zone = find(r, ZONE, "dns-zone");
        assert.equal(inputs(zone).name, "candlefish.ai");
        assert.equal(inputs(zone).forceDestroy, false);
        assert.equal(zone.options.protect, true, "a recreated zone gets new name servers and breaks the delegation");
        assert.equal(zone.options.provider, "pulumi:providers:aws::aws");
        assert.ok(!tokens.includes("aws:route53/getZone:getZone"), "nothing is looked up: the zone need not exist");
        // plan/mocks gives a created zone the id Z<its logical name>.
        assert.deepEqual(ofType(r, RECORD).map((x) => inputs(x).zoneId), Array(4).fill("ZDNSZONE"));
        assert.deepEqual(inputs(find(r, "kubernetes:cert-manager.io/v1:ClusterIssuer", "tls-letsencrypt-prod")).spec.acme.solvers[0].dns01.route53.hostedZoneID, "ZDNSZONE");
        assert.match(inputs(find(r, "aws:iam/rolePolicy:RolePolicy", "tls-dns01")).policy, /hostedzone\/ZDNSZONE/);
        assert.deepEqual(r.outputs.dnsNameServers, ["ns-1.awsdns-01.org"]);
        assert.equal(r.outputs.dnsZoneId, "ZDNSZONE");
    });

    it("dns.overwriteRecords=true takes over records already there (allowOverwrite on every host's record); the default leaves them to stop the up", async () => {
        const r = await renderStack("staging", ["dns.overwriteRecords=true"]);
        assert.deepEqual(ofType(r, RECORD).map((x) => [inputs(x).name, inputs(x).allowOverwrite]).sort(), HOSTS.map((h) => [h, true]).sort());
        const plain = await renderStack("staging");
        assert.deepEqual(ofType(plain, RECORD).map((x) => inputs(x).allowOverwrite), [false, false, false, false]);
    });

    it("dns.enabled=false: a first run without DNS: no zone, no lookup, no records, and nothing else refuses it", async () => {
        const { result: r, tokens } = await lookups(() => renderWith("production", ["dns.enabled=false"], { dns: { enabled: false } }));
        assert.equal(ofType(r, ZONE).length + ofType(r, RECORD).length, 0);
        assert.ok(!tokens.includes("aws:route53/getZone:getZone"));
        assert.equal(ofType(r, INGRESS).length, 1);
        assert.equal(r.outputs.dnsZoneId, undefined);
    });

    /** Renders, expecting a ConfigError; returns its message and the types the mock engine was asked to create. */
    async function refusedAtRuntime(stack: string, edits: string[], failLookup = false): Promise<{ message: string; types: string[] }> {
        const original = { newResource: mocks.newResource, call: mocks.call };
        const types: string[] = [];
        mocks.newResource = (args) => (types.push(args.type), original.newResource.call(mocks, args));
        // A zone that is not in the account: the provider's data source fails the lookup.
        if (failLookup)
            mocks.call = (args) => {
                // As the engine reports a provider's invoke error: gRPC details (the SDK makes them the message).
                if (args.token === "aws:route53/getZone:getZone")
                    throw Object.assign(new Error("no matching Route 53 Hosted Zone found"), { details: "invocation of aws:route53/getZone:getZone returned an error: no matching Route 53 Hosted Zone found" });
                return original.call.call(mocks, args);
            };
        try {
            const err = await renderStack(stack, edits).then(
                () => assert.fail("expected a refusal"),
                (e: Error) => e,
            );
            assert.ok(err instanceof ConfigError, String(err));
            return { message: err.message, types: types.sort() };
        } finally {
            Object.assign(mocks, original);
        }
    }

    it("dns.zone=existing but no such zone in the account: stopped before any cloud resource, naming dns.zone and both ways out", async () => {
        const { message, types } = await refusedAtRuntime("staging", [], true);
        assert.match(message, /- dns\.zone: dns\.zone is "existing", but a public zone candlefish\.ai was not found in this account \(invocation of aws:route53\/getZone:getZone returned an error: no matching Route 53 Hosted Zone found\); set dns\.zone=create to create it, or dns\.enabled=false/);
        assert.deepEqual(types, ["pulumi:providers:aws", "pulumi:pulumi:StackReference"]);
    });

    it("any other failure of the lookup (credentials, say) is passed on as it is, not called a missing zone", async () => {
        const original = mocks.call;
        mocks.call = (args) => {
            if (args.token === "aws:route53/getZone:getZone") throw Object.assign(new Error("x"), { details: "NoCredentialProviders: no valid providers in chain" });
            return original.call(mocks, args);
        };
        try {
            await assert.rejects(renderStack("staging"), (e: Error) => !(e instanceof ConfigError) && /NoCredentialProviders/.test(e.message));
        } finally {
            mocks.call = original;
        }
    });

    it("dns.zoneId that names another zone is refused with both keys named, before any cloud resource", async () => {
        // plan/mocks answers a lookup by id with the zone candlefish.ai; this stack's zone is staging.candlefish.ai.
        const { message, types } = await refusedAtRuntime("staging", ["dns.zoneName=staging.candlefish.ai", "dns.zoneId=Z0123456789ABCDEFGHIJ"]);
        assert.match(message, /- dns\.zoneId: Z0123456789ABCDEFGHIJ is the zone candlefish\.ai, not dns\.zoneName staging\.candlefish\.ai/);
        assert.deepEqual(types, ["pulumi:providers:aws", "pulumi:pulumi:StackReference"]);
    });

    const cases: { what: string; stack?: string; edits?: string[]; replace?: Record<string, unknown>; key: string; says: RegExp }[] = [
        { what: "production with no decision about the zone", stack: "production", replace: { dns: { zoneName: "candlefish.ai" } }, key: "dns.zone", says: /^required: "existing" uses the public Route53 zone candlefish\.ai .*"create" creates it .*dns\.enabled=false for a first run without DNS/ },
        { what: "an unknown zone mode", edits: ["dns.zone=import"], key: "dns.zone", says: /expected one of "existing", "create"/ },
        { what: "a zone id with a zone to create", edits: ["dns.zone=create", "dns.zoneId=Z0123456789ABCDEFGHIJ"], key: "dns.zoneId", says: /dns\.zone is "create"/ },
        { what: "overwriting records in a zone this stack creates", edits: ["dns.zone=create", "dns.overwriteRecords=true"], key: "dns.overwriteRecords", says: /only with dns\.zone=existing/ },
        { what: "overwriteRecords that is not a boolean", edits: ["dns.overwriteRecords=yes"], key: "dns.overwriteRecords", says: /true or false/ },
    ];
    for (const c of cases) {
        it(`refuses ${c.what}, naming ${c.key}, before anything is registered`, async () => {
            const { message, registered } = await expectRejected(c.stack ?? "staging", c.edits ?? [], c.replace ?? {});
            assert.equal(registered, 0);
            const line = message.split("\n").find((l) => l.includes(`- ${c.key}:`));
            assert.ok(line, `no line names ${c.key}:\n${message}`);
            assert.match(line.replace(/^\s*- [^:]+: /, ""), c.says);
        });
    }
});

describe("ingress: maintenanceBackend (helper E's hook)", () => {
    const page = { serviceName: "maintenance-page", port: 8080 };

    it("without it, a host has one rule: everything to its live Service", () => {
        assert.deepEqual(hostPaths("rtpm-api"), [{ path: "/", pathType: "Prefix", backend: { service: { name: "rtpm-api-service", port: { number: 80 } } } }]);
    });

    it("with it, everything goes to the page except the runbook's four health endpoints, which stay on the live Service", () => {
        const paths = hostPaths("candlefish-website", page);
        assert.deepEqual(
            paths.map((p) => [p.path, p.pathType, p.backend.service.name, p.backend.service.port.number]),
            [
                ["/api/health", "Exact", "candlefish-website-service", 80],
                ["/api/health/db", "Exact", "candlefish-website-service", 80],
                ["/api/health/cache", "Exact", "candlefish-website-service", 80],
                ["/api/health/dependencies", "Exact", "candlefish-website-service", 80],
                ["/", "Prefix", "maintenance-page", 8080],
            ],
        );
        assert.deepEqual([...HEALTH_PATHS], ["/api/health", "/api/health/db", "/api/health/cache", "/api/health/dependencies"]);
    });

    it("maintenanceMode=true in the stack moves every host to the page and back; health endpoints keep answering", async () => {
        const on = await renderStack("production", ["maintenanceMode=true"]);
        const r = routing(on);
        assert.deepEqual(r["candlefish.ai"].at(-1), ["/", "Prefix", "maintenance-page", 80]);
        assert.deepEqual(r["candlefish.ai"].slice(0, 4).map((p) => p[2]), Array(4).fill("candlefish-website-service"));
        assert.deepEqual(r["rtpm-api.candlefish.ai"].at(-1), ["/", "Prefix", "maintenance-page", 80]);
        assert.equal(inputs(find(on, INGRESS, "ingress-ingress")).metadata.annotations["candlefish.ai/maintenance-mode"], "on");
        const off = await renderStack("production", ["maintenanceMode=true", "maintenanceMode=false"]);
        assert.deepEqual(diffRenders(off, await renderStack("production")).changed, []);
    });
});

describe("platform config: defaults", () => {
    /** Parses a stack file's config (with `services` replaced) without rendering; `alerts` counts as secret in every stack. */
    const parse = (stack: string, services?: object) => parseWith(stack, [], services ? { services } : {}, { secret: ["alerts"] });

    it("production and staging differ in domain, sizes and receivers", () => {
        const p = parse("production");
        assert.equal(p.domain, "candlefish.ai");
        assert.deepEqual(p.ingress.hosts, { "rtpm-api": "rtpm-api.candlefish.ai", "nanda-api": "nanda-api.candlefish.ai", "otter-gateway": "otter-gateway.candlefish.ai" });
        assert.equal(p.ingress.rootService, "candlefish-website");
        assert.deepEqual(p.monitoring, { retention: "30d", storageSize: "100Gi", storageClass: "gp3", prometheusReplicas: 2, alertmanagerReplicas: 3, alertmanagerStorageSize: "10Gi" });
        // E-mail is opt-in (issue 12 item 10): no stack mails alerts until it sets alerts.email and SES credentials.
        assert.equal(p.alerts.email, undefined);
        assert.equal(p.alerts.smtp, undefined);
        assert.equal(p.alerts.slackChannel, "#candlefish-ops");
        const s = parse("staging");
        assert.equal(s.domain, "staging.candlefish.ai");
        assert.equal(s.ingress.controllerReplicas, 2);
        assert.equal(s.monitoring.retention, "7d");
        assert.equal(s.alerts.email, undefined);
        assert.equal(s.alerts.slackWebhookUrl, undefined);
    });

    it("a stack without the website serves its first service on the domain", () => {
        const c = parse("staging", { "rtpm-api": { blue: { imageTag: "v2.4.1" }, green: { imageTag: "v2.4.0" } } });
        assert.equal(c.ingress.rootService, "rtpm-api");
        assert.deepEqual(c.ingress.hosts, {});
    });
});

describe("platform config: bad input is refused with the key named, before anything is registered", () => {
    const cases: { what: string; stack?: string; edits?: string[]; drop?: string[]; secret?: boolean; key: string; says: RegExp }[] = [
        { what: "a domain with a scheme", edits: ["domain=https://candlefish.ai"], key: "domain", says: /domain name such as candlefish\.ai/ },
        { what: "an upper-case domain", edits: ["domain=Candlefish.AI"], key: "domain", says: /lower-case domain name/ },
        { what: "a domain outside the Route53 zone", stack: "staging", edits: ["domain=candlefish.io"], key: "domain", says: /not inside the Route53 zone candlefish\.ai/ },
        { what: "a non-email ACME address", edits: ["tls.acmeEmail=infrastructure.candlefish.ai"], key: "tls.acmeEmail", says: /email address/ },
        { what: "an unknown issuer", edits: ["tls.issuer=letsencrypt"], key: "tls.issuer", says: /letsencrypt-prod/ },
        { what: "a typo'd tls key", edits: ["tls.acmeEmial=a@candlefish.ai"], key: "tls.acmeEmial", says: /did you mean "acmeEmail"/ },
        { what: "a host override for an unknown service", edits: ["ingress.hosts.billing-api=billing.candlefish.ai"], key: "ingress.hosts.billing-api", says: /not a configured service/ },
        { what: "two services on one host", edits: ["ingress.hosts.rtpm-api=api.candlefish.ai", "ingress.hosts.nanda-api=api.candlefish.ai"], key: "ingress.hosts.", says: /already used by/ },
        { what: "a root service that is not deployed", edits: ["ingress.rootService=billing"], key: "ingress.rootService", says: /not a configured service/ },
        { what: "zero controller replicas", edits: ["ingress.controllerReplicas=0"], key: "ingress.controllerReplicas", says: /from 1 to 10/ },
        { what: "a malformed zone id", edits: ["dns.zoneId=candlefish.ai"], key: "dns.zoneId", says: /hosted zone id/ },
        { what: "the missing Slack receiver in production", drop: ["alerts"], key: "alerts.slackWebhookUrl", says: /required in production/ },
        { what: "a Slack webhook that is not a secret", edits: ["alerts.slackWebhookUrl=https://hooks.slack.com/services/T0/B0/x"], secret: false, key: "alerts.slackWebhookUrl", says: /must be stored as a secret/ },
        { what: "a webhook of the wrong shape", edits: ["alerts.slackWebhookUrl=http://example.com/hook"], key: "alerts.slackWebhookUrl", says: /Slack incoming-webhook URL/ },
        { what: "a non-email alert address", edits: ["alerts.email=infrastructure"], key: "alerts.email", says: /email address/ },
        { what: "e-mail on without an SMTP user name", edits: ["alerts.email=oncall@candlefish.ai", "alerts.smtp.password=pw-from-ses"], key: "alerts.smtp.username", says: /^.*required when alerts\.email is set .*pulumi config set --secret --path alerts\.smtp\.username .*verified SES identity.*SES sandbox/ },
        { what: "e-mail on without an SMTP password", edits: ["alerts.email=oncall@candlefish.ai", "alerts.smtp.username=AKIAEXAMPLE"], key: "alerts.smtp.password", says: /required when alerts\.email is set .*pulumi config set --secret --path alerts\.smtp\.password/ },
        { what: "e-mail on without any SMTP credentials (staging too)", stack: "staging", edits: ["alerts.email=oncall@candlefish.ai"], key: "alerts.smtp.password", says: /required when alerts\.email is set/ },
        { what: "SMTP credentials in plaintext", stack: "staging", edits: ["alerts.email=oncall@candlefish.ai", "alerts.smtp.username=AKIAEXAMPLE", "alerts.smtp.password=pw-from-ses"], secret: false, key: "alerts.smtp.password", says: /must be stored as a secret/ },
        { what: "SMTP settings without alerts.email (they would do nothing)", edits: ["alerts.smtp.username=AKIAEXAMPLE", "alerts.smtp.password=pw-from-ses"], key: "alerts.smtp", says: /alerts\.email is not.*set alerts\.email to turn e-mail on, or remove alerts\.smtp \(password, username\)/ },
        { what: "a Slack channel without #", edits: ["alerts.slackChannel=candlefish-ops"], key: "alerts.slackChannel", says: /#candlefish-ops/ },
        { what: "a retention without a unit", stack: "staging", edits: ["monitoring.retention=30"], key: "monitoring.retention", says: /15d/ },
        { what: "a storage size in the wrong unit", stack: "staging", edits: ["monitoring.storageSize=100GB"], key: "monitoring.storageSize", says: /50Gi/ },
    ];
    for (const c of cases) {
        it(`rejects ${c.what}`, async function () {
            this.timeout(30000);
            const drop = Object.fromEntries((c.drop ?? []).map((k) => [k, undefined]));
            const plaintext = c.secret === false ? ["alerts"] : [];
            const { message, registered } = await expectRejected(c.stack ?? "production", c.edits ?? [], drop, { plaintext });
            assert.equal(registered, 0, "nothing may be registered");
            const line = message.split("\n").find((l) => l.includes(`- ${c.key}`));
            assert.ok(line, `the message names ${c.key}:\n${message}`);
            assert.match(line, c.says);
        });
    }

    it("staging may run without receivers: alerts then reach nobody, and the config says so (null receiver only)", async function () {
        this.timeout(30000);
        const r = await renderStack("staging");
        const am = inputs(find(r, RELEASE, "monitoring-kube-prometheus-stack")).values.alertmanager.config;
        assert.deepEqual(am.receivers, [{ name: "null" }, { name: "critical" }, { name: "warning" }]);
    });
});
