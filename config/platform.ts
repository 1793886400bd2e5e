// In-cluster platform config: the stack's domain, TLS, ingress, DNS, and the
// monitoring and alerting stack.
//   domain      where the runbook's `curl -f https://candlefish.ai/api/health` lands
//   tls         cert-manager's ACME account, which Let's Encrypt issuer signs candlefish-ai-tls, and how
//               its challenges are solved (DNS-01 through Route53, or HTTP-01 when explicitly chosen)
//   ingress     ingress-nginx size, and the host each API is served on
//   dns         the Route53 zone: created by this stack or an existing one; records over existing ones
//   monitoring  Prometheus retention and storage (runbook "Monitoring & Alerting")
//   alerts      AlertManager receivers: Slack #candlefish-ops, and e-mail through SES when opted in
import * as s from "./schema";
import { ConfigSource } from "./source";
import { CoreConfig } from "./services";

/** The runbook's apex domain. */
export const APEX_DOMAIN = "candlefish.ai";
/** Runbook "Emergency Contacts". */
export const DEFAULT_SLACK_CHANNEL = "#candlefish-ops";
export const DEFAULT_ALERT_EMAIL = "infrastructure@candlefish.ai";
/** The runbook's `curl -f https://candlefish.ai/api/health` is answered by the website. */
export const DEFAULT_ROOT_SERVICE = "candlefish-website";
export const ISSUERS = ["letsencrypt-prod", "letsencrypt-staging"] as const;
export type IssuerName = (typeof ISSUERS)[number];
/**
 * How cert-manager answers Let's Encrypt's challenges (docs/AWS.md "TLS"):
 *   dns01   a TXT record in the Route53 zone, written by cert-manager through
 *           its own IRSA role; needs no traffic path to the cluster, so it works
 *           before the domain points at the load balancer
 *   http01  a file served through ingress-nginx behind the NLB; only when a
 *           stack chooses it (e.g. DNS hosted outside Route53)
 */
export const ACME_SOLVERS = ["dns01", "http01"] as const;
export type AcmeSolver = (typeof ACME_SOLVERS)[number];
/**
 * Where the Route53 zone comes from (docs/AWS.md "DNS"):
 *   existing  a public hosted zone already in this account: `dns.zoneId`, or
 *             the zone named `dns.zoneName`, looked up
 *   create    this stack creates the zone (protected) and outputs its name
 *             servers, which the domain's registrar must then delegate to
 */
export const DNS_ZONE_MODES = ["existing", "create"] as const;
export type DnsZoneMode = (typeof DNS_ZONE_MODES)[number];

/**
 * What the offline plan puts in place of a `secure:` value (plan/stackfile.ts).
 * A secret cannot be format-checked without its passphrase; the real value is
 * checked on every `pulumi up`.
 */
const OFFLINE_SECRET = "offline-placeholder-for-secure-value";

export interface TlsConfig {
    /** ACME account email: Let's Encrypt sends expiry warnings here if renewal ever stalls. */
    readonly acmeEmail: string;
    /** The ClusterIssuer that signs candlefish-ai-tls. */
    readonly issuer: IssuerName;
    /** dns01 (default) or http01 (only when configured). */
    readonly solver: AcmeSolver;
}

export interface IngressConfig {
    /** ingress-nginx controller pods (spread over zones). */
    readonly controllerReplicas: number;
    /** The service the bare domain routes to: the website, or the first service of a stack without one. */
    readonly rootService: string;
    /** Every other service's host: `<service>.<domain>` unless overridden. */
    readonly hosts: Readonly<Record<string, string>>;
}

export interface DnsConfig {
    /** Use Route53 at all: the zone, the records for the domain and API hosts, DNS-01. False: a first run without DNS. */
    readonly enabled: boolean;
    /** existing | create; required while enabled (undefined only when DNS is off). */
    readonly zone: DnsZoneMode | undefined;
    /** `existing` only: the hosted zone id; when absent the public zone `zoneName` is looked up. */
    readonly zoneId: string | undefined;
    readonly zoneName: string;
    /**
     * `existing` only: a record that already exists for one of the hosts (say the
     * old site's apex A record) is taken over (Route53 UPSERT: the provider's
     * allowOverwrite). False: the up stops at that record, and nothing is overwritten.
     */
    readonly overwriteRecords: boolean;
}

export interface MonitoringConfig {
    /** Prometheus TSDB retention, e.g. 30d. */
    readonly retention: string;
    /** Prometheus persistent volume size (gp3). */
    readonly storageSize: string;
    readonly storageClass: string;
    readonly prometheusReplicas: number;
    readonly alertmanagerReplicas: number;
    readonly alertmanagerStorageSize: string;
}

export interface SmtpConfig {
    /** host:port of the SMTP relay (SES's SMTP endpoint by default). */
    readonly smarthost: string;
    /** Sender address; SES accepts only an address of a verified identity (docs/AWS.md). */
    readonly from: string;
    /** SES SMTP user name (secret config, as the whole `alerts` key is). */
    readonly username: string;
    /** SES SMTP password (secret config); delivered to AlertManager as a mounted file, never in its config. */
    readonly password: string;
}

export interface AlertsConfig {
    /** Slack incoming webhook (secret config). Required in production. */
    readonly slackWebhookUrl: string | undefined;
    readonly slackChannel: string;
    /**
     * Where critical alerts are mailed. Opt-in (no default in any environment):
     * mail through SES needs SMTP credentials, a verified identity and an
     * account out of the SES sandbox, none of which the program can create.
     */
    readonly email: string | undefined;
    /** The SMTP relay; present exactly when `email` is set (credentials required then). */
    readonly smtp: SmtpConfig | undefined;
}

export interface PlatformConfig {
    /** The stack's domain: candlefish.ai in production, <environment>.candlefish.ai elsewhere. */
    readonly domain: string;
    readonly tls: TlsConfig;
    readonly ingress: IngressConfig;
    readonly dns: DnsConfig;
    readonly monitoring: MonitoringConfig;
    readonly alerts: AlertsConfig;
}

const retention = s.string({ pattern: /^[1-9]\d{0,3}[hdw]$/, expected: "a Prometheus retention such as 15d, 4w or 72h" });
const volumeSize = s.string({ pattern: /^[1-9]\d{0,4}Gi$/, expected: "a volume size in Gi such as 50Gi" });
const hostPort = s.string({
    pattern: /^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?:\d{1,5}$/,
    expected: "host:port such as email-smtp.us-west-2.amazonaws.com:587",
});
const slackWebhook = s.string({
    expected: "a Slack incoming-webhook URL (https://hooks.slack.com/services/...), set with `pulumi config set --secret`",
    check: (v) =>
        v === OFFLINE_SECRET || /^https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/_-]+$/.test(v)
            ? undefined
            : "expected a Slack incoming-webhook URL (https://hooks.slack.com/services/...), got a value of another shape",
});

const tlsShape = s.object({
    acmeEmail: s.optional(s.email),
    issuer: s.optional(s.oneOf(ISSUERS)),
    solver: s.optional(s.oneOf(ACME_SOLVERS)),
});
const ingressShape = s.object({
    controllerReplicas: s.optional(s.int({ min: 1, max: 10 })),
    rootService: s.optional(s.dnsLabel),
    hosts: s.optional(s.record(s.dnsLabel, s.domainName, "a map of service name to host name"), {}),
});
const dnsShape = s.object({
    enabled: s.optional(s.bool()),
    zone: s.optional(s.oneOf(DNS_ZONE_MODES)),
    overwriteRecords: s.optional(s.bool()),
    zoneId: s.optional(s.string({ pattern: /^Z[A-Z0-9]{1,31}$/, expected: "a Route53 hosted zone id such as Z0123456789ABCDEFGHIJ" })),
    zoneName: s.optional(s.domainName),
});
const monitoringShape = s.object({
    retention: s.optional(retention),
    storageSize: s.optional(volumeSize),
    storageClass: s.optional(s.dnsLabel),
    prometheusReplicas: s.optional(s.int({ min: 1, max: 3 })),
    alertmanagerReplicas: s.optional(s.int({ min: 1, max: 5 })),
    alertmanagerStorageSize: s.optional(volumeSize),
});
const alertsShape = s.object({
    slackWebhookUrl: s.optional(slackWebhook),
    slackChannel: s.optional(s.string({ pattern: /^#[a-z0-9][a-z0-9_-]{0,79}$/, expected: "a Slack channel such as #candlefish-ops" })),
    email: s.optional(s.email),
    smtp: s.optional(
        s.object({
            smarthost: s.optional(hostPort),
            from: s.optional(s.email),
            username: s.optional(s.string({ minLength: 1, maxLength: 256 })),
            password: s.optional(s.string({ minLength: 1, maxLength: 256 })),
        }),
    ),
});

/** `region`: the stack's `aws:region` (the SES SMTP endpoint defaults to it). */
export function readPlatform(src: ConfigSource, core: CoreConfig, region: string): PlatformConfig {
    const prod = core.environment === "production";
    // core.environment may be invalid (already reported); default as for development then.
    const env = typeof core.environment === "string" ? core.environment : "development";
    const domainV = src.read("domain", s.optional(s.domainName, prod ? APEX_DOMAIN : `${env}.${APEX_DOMAIN}`));
    const tlsV = src.read("tls", s.optional(tlsShape, {} as s.Infer<typeof tlsShape>));
    const ingressV = src.read("ingress", s.optional(ingressShape, {} as s.Infer<typeof ingressShape>));
    const dnsV = src.read("dns", s.optional(dnsShape, {} as s.Infer<typeof dnsShape>));
    const monV = src.read("monitoring", s.optional(monitoringShape, {} as s.Infer<typeof monitoringShape>));
    const alertsV = src.read("alerts", s.optional(alertsShape, {} as s.Infer<typeof alertsShape>));

    // An invalid section has recorded its issues (loadConfig will throw); carry
    // on with defaults so every other problem is reported in the same run.
    const domain = s.isInvalid(domainV) ? APEX_DOMAIN : domainV;
    const tls: Partial<s.Infer<typeof tlsShape>> = s.isInvalid(tlsV) ? {} : tlsV;
    const ingress: Partial<s.Infer<typeof ingressShape>> = s.isInvalid(ingressV) ? {} : ingressV;
    const dns: Partial<s.Infer<typeof dnsShape>> = s.isInvalid(dnsV) ? {} : dnsV;
    const mon: Partial<s.Infer<typeof monitoringShape>> = s.isInvalid(monV) ? {} : monV;
    const alerts: Partial<s.Infer<typeof alertsShape>> = s.isInvalid(alertsV) ? {} : alertsV;

    // Routing: the bare domain serves the website (and the runbook's health
    // endpoints); every other service gets its own host.
    // The website when the stack runs it, else the first service; an explicit
    // choice must name a configured service.
    const names = core.services.map((x) => x.name);
    const rootService = ingress.rootService ?? (names.includes(DEFAULT_ROOT_SERVICE) || names.length === 0 ? DEFAULT_ROOT_SERVICE : names[0]);
    if (names.length > 0 && !names.includes(rootService)) {
        src.problem(
            "ingress.rootService",
            `"${rootService}" is not a configured service (services: ${names.join(", ")}); the domain must route to one of them`,
        );
    }
    const hosts: Record<string, string> = {};
    const overrides: Readonly<Record<string, string>> = ingress.hosts ?? {};
    for (const svc of Object.keys(overrides)) {
        if (!names.includes(svc)) src.problem(`ingress.hosts.${svc}`, `"${svc}" is not a configured service (services: ${names.join(", ")})`);
        else if (svc === rootService) src.problem(`ingress.hosts.${svc}`, `${svc} is the root service; it is served on the domain itself (${domain})`);
    }
    for (const svc of names) if (svc !== rootService) hosts[svc] = overrides[svc] ?? `${svc}.${domain}`;
    const seen = new Map<string, string>([[domain, rootService]]);
    for (const [svc, host] of Object.entries(hosts)) {
        const other = seen.get(host);
        if (other !== undefined) src.problem(`ingress.hosts.${svc}`, `host ${host} is already used by ${other}; each service needs its own host`);
        seen.set(host, svc);
    }

    // DNS: the zone's origin is the operator's statement, never a guess: a lookup
    // of a zone that does not exist stops the up, and a created zone resolves
    // nothing until the registrar delegates to it.
    const zoneName = dns.zoneName ?? APEX_DOMAIN;
    const dnsOn = dns.enabled !== false;
    if (dnsOn && dns.zone === undefined) {
        src.problem(
            "dns.zone",
            `required: "existing" uses the public Route53 zone ${zoneName} already in this account (dns.zoneId, or looked up by name); ` +
                `"create" creates it (then delegate ${zoneName} to the dnsNameServers stack output at its registrar); ` +
                "or set dns.enabled=false for a first run without DNS. (pulumi config set --path dns.zone existing)",
        );
    }
    if (dns.zone === "create" && dns.zoneId !== undefined)
        src.problem("dns.zoneId", `names an existing zone, but dns.zone is "create"; set dns.zone=existing to use ${dns.zoneId}, or drop dns.zoneId`);
    if (dns.overwriteRecords === true && dns.zone !== "existing")
        src.problem("dns.overwriteRecords", `only with dns.zone=existing: a zone this stack creates starts with no records to overwrite`);
    // The zone must contain every name the records and the certificate use.
    const inZone = (h: string) => h === zoneName || h.endsWith(`.${zoneName}`);
    if (dnsOn) {
        for (const h of [domain, ...Object.values(hosts)]) {
            if (!inZone(h)) {
                src.problem(dns.zoneName ? "dns.zoneName" : "domain", `${h} is not inside the Route53 zone ${zoneName}; set dns.zoneName to the zone that holds it`);
                break;
            }
        }
    }

    // Alert receivers. Production must reach on-call; secrets must be secret.
    const smtp: Partial<NonNullable<typeof alerts.smtp>> = alerts.smtp ?? {};
    if (prod && alerts.slackWebhookUrl === undefined) {
        src.problem(
            "alerts.slackWebhookUrl",
            `required in production: critical and warning alerts go to Slack ${alerts.slackChannel ?? DEFAULT_SLACK_CHANNEL}. ` +
                "Set it with `pulumi config set --secret --path alerts.slackWebhookUrl https://hooks.slack.com/services/...`",
        );
    }
    if ((alerts.slackWebhookUrl !== undefined || smtp.password !== undefined || smtp.username !== undefined) && !src.isSecret("alerts")) {
        const key = alerts.slackWebhookUrl !== undefined ? "alerts.slackWebhookUrl" : smtp.password !== undefined ? "alerts.smtp.password" : "alerts.smtp.username";
        src.problem(key, `must be stored as a secret; re-set it with \`pulumi config set --secret --path ${key} ...\``);
    }
    // E-mail is opt-in: setting alerts.email turns it on, and then AlertManager must be
    // able to sign in to SES. Without credentials SES refuses every message (535) and
    // on-call hears nothing while the config looks complete.
    const emailOn = alerts.email !== undefined;
    if (emailOn) {
        const how = (key: string, what: string) =>
            `required when alerts.email is set (e-mail alerts are on): the SES SMTP ${what}. Create SES SMTP credentials ` +
            `and set it with \`pulumi config set --secret --path ${key} <value>\`; the sender alerts.smtp.from must be a ` +
            "verified SES identity and the account out of the SES sandbox (docs/AWS.md, \"Alert e-mail through SES\"). " +
            "Or turn e-mail off by removing alerts.email";
        if (smtp.username === undefined) src.problem("alerts.smtp.username", how("alerts.smtp.username", "user name"));
        if (smtp.password === undefined) src.problem("alerts.smtp.password", how("alerts.smtp.password", "password"));
    } else if (alerts.smtp !== undefined) {
        src.problem(
            "alerts.smtp",
            `is set but alerts.email is not, so no alert is mailed and these settings would do nothing; set alerts.email to turn e-mail on, or remove alerts.smtp (${Object.entries(alerts.smtp).filter(([, v]) => v !== undefined).map(([k]) => k).sort().join(", ") || "empty"})`,
        );
    }

    return {
        domain,
        tls: Object.freeze({
            acmeEmail: tls.acmeEmail ?? DEFAULT_ALERT_EMAIL,
            issuer: tls.issuer ?? "letsencrypt-prod",
            solver: tls.solver ?? "dns01",
        }),
        ingress: Object.freeze({
            controllerReplicas: ingress.controllerReplicas ?? (prod ? 3 : 2),
            rootService,
            hosts: Object.freeze(hosts),
        }),
        dns: Object.freeze({
            enabled: dnsOn,
            zone: dns.zone,
            zoneId: dns.zone === "existing" ? dns.zoneId : undefined,
            zoneName,
            overwriteRecords: dns.overwriteRecords ?? false,
        }),
        monitoring: Object.freeze({
            retention: mon.retention ?? (prod ? "30d" : "7d"),
            storageSize: mon.storageSize ?? (prod ? "100Gi" : "20Gi"),
            storageClass: mon.storageClass ?? "gp3",
            prometheusReplicas: mon.prometheusReplicas ?? (prod ? 2 : 1),
            alertmanagerReplicas: mon.alertmanagerReplicas ?? (prod ? 3 : 1),
            alertmanagerStorageSize: mon.alertmanagerStorageSize ?? (prod ? "10Gi" : "2Gi"),
        }),
        alerts: Object.freeze({
            slackWebhookUrl: alerts.slackWebhookUrl,
            slackChannel: alerts.slackChannel ?? DEFAULT_SLACK_CHANNEL,
            email: alerts.email,
            smtp: emailOn
                ? Object.freeze({
                      // SES in the stack's own region (SES identities and SMTP endpoints are regional).
                      smarthost: smtp.smarthost ?? `email-smtp.${region}.amazonaws.com:587`,
                      from: smtp.from ?? `alertmanager@${APEX_DOMAIN}`,
                      username: smtp.username ?? "",
                      password: smtp.password ?? "",
                  })
                : undefined,
        }),
    };
}
