// TLS: cert-manager (pinned), the Let's Encrypt ClusterIssuers, and the
// Certificate the runbook describes (`kubectl describe certificate
// candlefish-ai-tls -n production`), for production and staging.
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { Certificate, ClusterIssuer } from "@kubernetes-models/cert-manager/cert-manager.io/v1";
import { Rendered } from "../plan/render";
import { ACME_SERVERS, CERT_MANAGER_CHART_VERSION, CERT_MANAGER_REPO, dns01Policy } from "../components/certificates";
import { expectRejected, find, inputs, ofType, renderBoth, renderStack } from "./harness";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer";
const CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate";
const API_HOSTS = (domain: string) => ["nanda-api", "otter-gateway", "rtpm-api"].map((s) => `${s}.${domain}`);

describe("TLS: cert-manager, issuers and candlefish-ai-tls", () => {
    let prod: Rendered;
    let staging: Rendered;
    before(async function () {
        this.timeout(60000);
        ({ prod, staging } = await renderBoth());
    });

    it("installs cert-manager as a plain Helm release (values exactly as Helm gets them), chart pinned, CRDs included, in namespace cert-manager", () => {
        // Not the @pulumi/kubernetes-cert-manager component: it sends `cainjector.podSecurityContext`,
        // which the chart's schema refuses (test/chart-values.test.ts).
        assert.equal(ofType(prod, "kubernetes-cert-manager:index:CertManager").length, 0);
        const cm = ofType(prod, RELEASE).filter((r) => inputs(r).chart === "cert-manager");
        assert.equal(cm.length, 1);
        assert.equal(cm[0].name, "tls-cert-manager");
        const i = inputs(cm[0]);
        assert.equal(i.version, CERT_MANAGER_CHART_VERSION);
        assert.match(CERT_MANAGER_CHART_VERSION, /^v\d+\.\d+\.\d+$/);
        assert.equal(i.repositoryOpts.repo, CERT_MANAGER_REPO);
        assert.equal(i.name, "cert-manager");
        assert.equal(i.namespace, "cert-manager");
        assert.equal(i.atomic, true);
        assert.deepEqual(i.values.crds, { enabled: true, keep: true });
        assert.equal(i.values.installCRDs, undefined, "deprecated since v1.15 in favour of crds.enabled");
        assert.equal(i.values.replicaCount, 2);
        assert.equal(i.values.webhook.replicaCount, 2);
        assert.equal(i.values.cainjector.replicaCount, 2);
        for (const part of [i.values, i.values.webhook, i.values.cainjector, i.values.startupapicheck]) {
            assert.equal(part.containerSecurityContext.allowPrivilegeEscalation, false);
            assert.equal(part.securityContext.runAsNonRoot, true);
        }
        assert.equal(i.values.cainjector.podSecurityContext, undefined);
        // The namespace exists before the release.
        assert.deepEqual(cm[0].options.dependsOn, ["kubernetes:core/v1:Namespace::tls-ns"]);
        assert.equal(inputs(find(prod, "kubernetes:core/v1:Namespace", "tls-ns")).metadata.name, "cert-manager");
    });

    it("declares letsencrypt-staging and letsencrypt-prod ClusterIssuers with the configured ACME email and DNS-01 through the stack's Route53 zone", () => {
        for (const name of ["letsencrypt-prod", "letsencrypt-staging"] as const) {
            const res = find(prod, ISSUER, `tls-${name}`);
            const i = inputs(res);
            assert.equal(i.metadata.name, name);
            assert.equal(i.spec.acme.server, ACME_SERVERS[name]);
            assert.equal(i.spec.acme.email, "infrastructure@candlefish.ai");
            // plan/mocks answers the lookup of candlefish.ai with ZMOCK13; no HTTP-01 unless a stack asks for it.
            assert.deepEqual(i.spec.acme.solvers, [{ dns01: { route53: { region: "us-east-1", hostedZoneID: `ZMOCK${"candlefish.ai".length}` } } }]);
            assert.equal(i.spec.acme.privateKeySecretRef.name, `${name}-account-key`);
            // The CRDs come with cert-manager.
            assert.deepEqual(res.options.dependsOn, [`${RELEASE}::tls-cert-manager`]);
            new ClusterIssuer(i).validate();
        }
        assert.equal(ACME_SERVERS["letsencrypt-prod"], "https://acme-v02.api.letsencrypt.org/directory");
        assert.equal(ACME_SERVERS["letsencrypt-staging"], "https://acme-staging-v02.api.letsencrypt.org/directory");
    });

    it("production: Certificate candlefish-ai-tls in namespace production for candlefish.ai and the API hosts, signed by letsencrypt-prod", () => {
        const res = find(prod, CERTIFICATE, "tls-candlefish-ai-tls");
        const i = inputs(res);
        assert.equal(i.metadata.name, "candlefish-ai-tls");
        assert.equal(i.metadata.namespace, "production");
        assert.equal(i.spec.secretName, "candlefish-ai-tls");
        assert.equal(i.spec.commonName, "candlefish.ai");
        assert.deepEqual(i.spec.dnsNames, ["candlefish.ai", ...API_HOSTS("candlefish.ai")]);
        assert.deepEqual(i.spec.issuerRef, { name: "letsencrypt-prod", kind: "ClusterIssuer", group: "cert-manager.io" });
        // Renewal is cert-manager's: 90-day certificates renewed 30 days ahead.
        assert.equal(i.spec.duration, "2160h");
        assert.equal(i.spec.renewBefore, "720h");
        assert.equal(i.spec.privateKey.rotationPolicy, "Always");
        assert.deepEqual(res.options.dependsOn, [`${ISSUER}::tls-letsencrypt-prod`]);
        new Certificate(i).validate();
    });

    it("staging: the certificate covers staging.candlefish.ai and its API hosts, in namespace staging", () => {
        const i = inputs(find(staging, CERTIFICATE, "tls-candlefish-ai-tls"));
        assert.equal(i.metadata.namespace, "staging");
        assert.deepEqual(i.spec.dnsNames, ["staging.candlefish.ai", ...API_HOSTS("staging.candlefish.ai")]);
        assert.equal(i.spec.issuerRef.name, "letsencrypt-prod");
    });

    it("tls.issuer and tls.acmeEmail are config: the certificate moves issuer and the issuers' account email changes", async () => {
        const r = await renderStack("staging", ["tls.issuer=letsencrypt-staging", "tls.acmeEmail=platform@candlefish.ai"]);
        const cert = find(r, CERTIFICATE, "tls-candlefish-ai-tls");
        assert.equal(inputs(cert).spec.issuerRef.name, "letsencrypt-staging");
        assert.deepEqual(cert.options.dependsOn, [`${ISSUER}::tls-letsencrypt-staging`]);
        for (const issuer of ofType(r, ISSUER)) assert.equal(inputs(issuer).spec.acme.email, "platform@candlefish.ai");
    });

    it("DNS-01 credentials: an IRSA role only cert-manager's service account can assume, allowed TXT records in the one zone", () => {
        const role = inputs(find(prod, "aws:iam/role:Role", "tls-dns01"));
        const trust = JSON.parse(role.assumeRolePolicy);
        assert.equal(trust.Statement.length, 1);
        const st = trust.Statement[0];
        assert.equal(st.Action, "sts:AssumeRoleWithWebIdentity");
        assert.match(st.Principal.Federated, /:oidc-provider\/oidc\.eks\.us-east-1\.amazonaws\.com\/id\/MOCK/);
        const issuer = st.Principal.Federated.split(":oidc-provider/")[1];
        assert.deepEqual(st.Condition, { StringEquals: { [`${issuer}:sub`]: "system:serviceaccount:cert-manager:cert-manager", [`${issuer}:aud`]: "sts.amazonaws.com" } });
        const policy: any = JSON.parse(inputs(find(prod, "aws:iam/rolePolicy:RolePolicy", "tls-dns01")).policy);
        assert.deepEqual(policy, dns01Policy("ZMOCK13"));
        assert.deepEqual(policy.Statement.map((x: any) => [x.Action, x.Resource]), [
            ["route53:GetChange", "arn:aws:route53:::change/*"],
            [["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"], "arn:aws:route53:::hostedzone/ZMOCK13"],
        ]);
        assert.deepEqual(policy.Statement[1].Condition, { "ForAllValues:StringEquals": { "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"] } });
        // The chart's controller service account carries the role (the pod identity webhook reads the annotation).
        const cmv = inputs(ofType(prod, RELEASE).filter((r) => inputs(r).chart === "cert-manager")[0]).values;
        assert.deepEqual(cmv.serviceAccount, { name: "cert-manager", annotations: { "eks.amazonaws.com/role-arn": `arn:aws:iam::123456789012:role/candlefish-production-cert-manager-dns01` } });
        assert.equal(cmv.securityContext.fsGroup, 1001);
        assert.equal(cmv.securityContext.runAsNonRoot, true);
    });

    it("tls.solver=http01 (explicit only): HTTP-01 through the nginx IngressClass, and no Route53 role", async () => {
        const r = await renderStack("staging", ["tls.solver=http01"]);
        for (const issuer of ofType(r, ISSUER)) assert.deepEqual(inputs(issuer).spec.acme.solvers, [{ http01: { ingress: { ingressClassName: "nginx" } } }]);
        assert.equal(ofType(r, "aws:iam/role:Role").filter((x) => x.name === "tls-dns01").length, 0);
        assert.equal(inputs(ofType(r, RELEASE).filter((x) => inputs(x).chart === "cert-manager")[0]).values.serviceAccount.annotations, undefined);
    });

    it("a first run without DNS (dns.enabled=false): cert-manager only; no issuer, no Certificate, no role, so no ACME order can fail; a warning says so", async () => {
        const warn = pulumi.log.warn;
        const warnings: string[] = [];
        pulumi.log.warn = async (msg: string) => void warnings.push(msg);
        let r;
        try {
            r = await renderStack("staging", ["dns.enabled=false"]);
        } finally {
            pulumi.log.warn = warn;
        }
        assert.ok(warnings.some((w) => /dns\.enabled=false and tls\.solver=dns01: no ClusterIssuer and no Certificate/.test(w)), warnings.join("\n"));
        assert.equal(ofType(r, RELEASE).filter((x) => inputs(x).chart === "cert-manager").length, 1);
        assert.deepEqual([ofType(r, ISSUER).length, ofType(r, CERTIFICATE).length], [0, 0]);
        assert.equal(r.resources.filter((x) => x.name === "tls-dns01").length, 0);
        // The Ingress still names the Secret; ingress-nginx serves its default certificate until it exists.
        assert.equal(inputs(find(r, "kubernetes:networking.k8s.io/v1:Ingress", "ingress-ingress")).spec.tls[0].secretName, "candlefish-ai-tls");
        // With HTTP-01 chosen, the issuers and the Certificate are there without DNS.
        const http = await renderStack("staging", ["dns.enabled=false", "tls.solver=http01"]);
        assert.deepEqual([ofType(http, ISSUER).length, ofType(http, CERTIFICATE).length], [2, 1]);
    });

    it("refuses an unknown solver, naming tls.solver", async () => {
        const { message, registered } = await expectRejected("staging", ["tls.solver=dns"]);
        assert.equal(registered, 0);
        assert.match(message, /- tls\.solver: expected one of "dns01", "http01", got "dns"; did you mean "dns01"\?/);
    });

    it("every TLS object talks to the EKS cluster's provider", () => {
        const provider = ofType(prod, "pulumi:providers:kubernetes");
        assert.equal(provider.length, 1);
        const ref = `pulumi:providers:kubernetes::${provider[0].name}`;
        for (const type of [ISSUER, CERTIFICATE, RELEASE, "kubernetes:core/v1:Namespace"]) {
            for (const res of ofType(prod, type).filter((x) => x.name.startsWith("tls-"))) assert.equal(res.options.provider, ref, `${type} ${res.name}`);
        }
    });
});
