// DNS: the Route53 public hosted zone that the stack's records
// (components/ingress.ts) and cert-manager's DNS-01 challenges
// (components/certificates.ts) go in. Where it comes from is config, never a
// guess (docs/AWS.md "DNS"):
//   existing  the zone is already in the account: `dns.zoneId`, or the public
//             zone named `dns.zoneName`; findZone looks it up before anything
//             is created, and a missing or mismatched zone stops the program
//             with the keys named
//   create    this stack creates the zone and protects it; the domain resolves
//             to it only once the registrar delegates to its name servers
//             (stack output dnsNameServers)
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { ConfigError } from "../config/schema";
import type { DnsZoneMode } from "../config/platform";

/** An existing zone, as findZone found it. */
export interface FoundZone {
    readonly zoneId: string;
    readonly nameServers: readonly string[];
}

/**
 * How the AWS provider says a zone is not there: its route53 zone data source
 * returns "no matching Route 53 Hosted Zone found" for a name (older releases:
 * "no matching Route53Zone found"); for an id, Route53's NoSuchHostedZone
 * (the wording of the id case is unverified here). Other failures (credentials,
 * throttling) pass through unchanged: they are not the operator's zone decision.
 */
const ZONE_NOT_FOUND = /no matching Route ?53 ?(Hosted )?Zone found|NoSuchHostedZone|couldn't find resource/i;

/**
 * Looks up the existing public zone (`dns.zone=existing`) through the stack's
 * provider. Awaited before any cloud resource is declared: a zone that is not
 * there, is private, or is not `zoneName` is a ConfigError naming the keys.
 */
export async function findZone(zoneName: string, zoneId: string | undefined, opts: pulumi.InvokeOptions): Promise<FoundZone> {
    const key = zoneId ? "dns.zoneId" : "dns.zone";
    let z: aws.route53.GetZoneResult;
    try {
        z = await aws.route53.getZone(zoneId ? { zoneId } : { name: zoneName, privateZone: false }, opts);
    } catch (e) {
        if (!ZONE_NOT_FOUND.test(String((e as Error)?.message ?? e))) throw e;
        throw new ConfigError([
            {
                key,
                message:
                    `dns.zone is "existing", but ${zoneId ? `the zone ${zoneId}` : `a public zone ${zoneName}`} was not found in this account (${String((e as Error).message ?? e).split("\n")[0]}); ` +
                    `set dns.zone=create to create it, or dns.enabled=false for a first run without DNS`,
            },
        ]);
    }
    const found = z.name.replace(/\.$/, "");
    if (found !== zoneName)
        throw new ConfigError([{ key: "dns.zoneId", message: `${zoneId} is the zone ${found}, not dns.zoneName ${zoneName}; set the id of ${zoneName}'s public zone` }]);
    if (z.privateZone)
        throw new ConfigError([{ key: "dns.zoneId", message: `${zoneId} is a private zone; Let's Encrypt and the internet resolve only the public zone of ${zoneName}` }]);
    return { zoneId: z.zoneId, nameServers: z.nameServers };
}

export interface DnsZoneArgs {
    /** existing | create (`dns.zone`). */
    readonly mode: DnsZoneMode;
    /** The zone's domain (`dns.zoneName`); every host and certificate name is inside it. */
    readonly zoneName: string;
    /** `existing` only: the zone findZone found. */
    readonly found?: FoundZone;
    /** Tags for a created zone. */
    readonly tags: Record<string, string>;
}

export class DnsZone extends pulumi.ComponentResource {
    /** The created zone (`create` only). */
    public readonly zone?: aws.route53.Zone;
    /** The hosted zone id (bare: Z..., no /hostedzone/ prefix). */
    public readonly zoneId: pulumi.Output<string>;
    /** The zone's name servers: the registrar's NS records for the domain must name these. */
    public readonly nameServers: pulumi.Output<string[]>;

    constructor(name: string, args: DnsZoneArgs, opts?: pulumi.ComponentResourceOptions) {
        super("candlefish:dns:DnsZone", name, {}, opts);
        if (args.mode === "create") {
            if (args.found) throw new Error("DnsZone: a zone to create was also found");
            // Protected: a deleted and recreated zone gets new name servers, and the
            // registrar's delegation would point at nothing.
            this.zone = new aws.route53.Zone(
                `${name}-zone`,
                { name: args.zoneName, comment: `candlefish ${args.zoneName} (Pulumi)`, forceDestroy: false, tags: args.tags },
                { parent: this, protect: true },
            );
            this.zoneId = this.zone.zoneId;
            this.nameServers = this.zone.nameServers;
        } else {
            if (!args.found) throw new Error("DnsZone: an existing zone must be found first (findZone)");
            this.zoneId = pulumi.output(args.found.zoneId);
            this.nameServers = pulumi.output([...args.found.nameServers]);
        }
        this.registerOutputs({ zoneId: this.zoneId, nameServers: this.nameServers });
    }
}
