// The AWS foundation: network -> EKS -> ECR -> data stores (Secrets Manager,
// RDS, ElastiCache, backups) -> secret delivery into the app namespace
// (External Secrets Operator, IRSA) -> the in-cluster platform around the app
// tier (cert-manager and TLS, ingress-nginx and DNS, monitoring).
// Resources are registered at the top level, as index.ts always did, so
// their URNs do not depend on this module.
//
// Region: every AWS resource and lookup goes through ONE explicit provider in
// the stack's `aws:region` (config/aws.ts), handed to each component as
// `providers`, whose children inherit it. The stack files also disable the
// default AWS provider (`pulumi:disable-default-providers`), so a resource
// that missed it fails instead of landing wherever the environment points.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { AwsStackConfig, ConfigError } from "../config";
import { DEFAULT_ZONE_COUNT } from "../config/aws";
import { backupBucketName } from "../config/data";
import { planServices, registryIssues } from "../config/bootstrap";
import { Network } from "../components/network";
import { Cluster } from "../components/cluster";
import { Registry } from "../components/registry";
import { AppSecrets, ENV_OF, K8S_SECRETS, SecretDelivery } from "../components/secrets";
import { NO_POD_FILES, PodFiles, RdsCaBundle } from "../components/rds-ca";
import { Database, instanceIdentifier } from "../components/database";
import { DatabaseCredentials, DatabaseRoles } from "../components/database-roles";
import { Cache } from "../components/cache";
import { Backups } from "../components/backups";
import { Certificates } from "../components/certificates";
import { DnsZone, findZone } from "../components/dns";
import { INGRESS_NAMESPACE, Ingress, INGRESS_CLASS } from "../components/ingress";
import { MONITORING_NAMESPACE, Monitoring } from "../components/monitoring";
import { DataStoreDestinations, anyAddressExceptMetadata } from "../components/network-policies";
import { AWS_TRAFFIC_SOURCES, PlatformNetworkPolicies } from "../components/platform-network-policies";
import { CloudWatchExporter } from "../components/cloudwatch-exporter";
import { LOGICAL_BACKUP, LogicalBackup } from "../components/logical-backup";
import { AppTier, DeliveredSecrets, Foundation, FoundationOutputs } from "./foundation";
import type { AppNamespace } from "../components/namespace";

/** The name of the stack's one AWS provider (`pulumi:providers:aws::aws`). */
export const AWS_PROVIDER_NAME = "aws";

/**
 * The zones a stack without `network.availabilityZones` spreads over: the first
 * DEFAULT_ZONE_COUNT Availability Zones (not Local or Wavelength Zones) AWS
 * lists for the region, in name order. No state filter: a zone that is briefly
 * impaired must not shift the list, which would move every subnet.
 */
async function defaultZones(provider: aws.Provider, config: AwsStackConfig): Promise<string[]> {
    const found = await aws.getAvailabilityZones({ filters: [{ name: "zone-type", values: ["availability-zone"] }] }, { provider });
    const names = [...found.names].sort().slice(0, DEFAULT_ZONE_COUNT);
    const needed = config.isProduction ? 3 : 2;
    if (names.length < needed) {
        throw new ConfigError([
            {
                key: "network.availabilityZones",
                message:
                    `${config.region} (aws:region) offers this account ${names.length} Availability Zone(s) (${names.join(", ") || "none"}); ` +
                    `${config.isProduction ? "production spreads over at least 3" : "EKS needs subnets in at least 2"}: choose another region`,
            },
        ]);
    }
    return names;
}

/**
 * `running`: the services the stack's last update ran (config/previous.ts).
 * Refuses, before registering anything, to run a service whose ECR repository
 * is not in the account yet (config/bootstrap.ts).
 */
export async function awsFoundation(config: AwsStackConfig, running: ReadonlySet<string>): Promise<Foundation> {
    // The stack's one AWS provider, in its configured region (docs/AWS.md "Region").
    const awsProvider = new aws.Provider(AWS_PROVIDER_NAME, { region: config.region as aws.Region });
    const onAws = { providers: [awsProvider] };
    // The first-deploy phase: which services this update runs. Each one's images come from a
    // repository that must exist before the update: one read of the account's repository names.
    const services = planServices(config.bootstrap.phase, config.services, running);
    if (services.run.length > 0) {
        const existing = new Set((await aws.ecr.getRepositories({}, { provider: awsProvider })).names);
        const issues = registryIssues({ owner: config.registry.owner, run: services.run, existing, stack: config.stack });
        if (issues.length > 0) throw new ConfigError(issues);
    }
    if (services.heldBack.length > 0)
        pulumi.log.info(
            `bootstrap.phase is platform: ${services.heldBack.join(", ")} ${services.heldBack.length === 1 ? "is" : "are"} not started by this update ` +
                `(push the images, then pulumi config set --path bootstrap.phase apps)`,
        );
    const availabilityZones = config.network.availabilityZones ?? (await defaultZones(awsProvider, config));
    // An existing zone is looked up before anything is created: a missing one stops here, naming dns.zone.
    const foundZone =
        config.dns.enabled && config.dns.zone === "existing" ? await findZone(config.dns.zoneName, config.dns.zoneId, { provider: awsProvider }) : undefined;

    // Network -> EKS cluster -> ECR repositories (issue "AWS platform").
    const network = new Network(
        `candlefish-${config.stack}`,
        { ...config.network, region: config.region, availabilityZones, clusterName: config.cluster.name, tags: config.tags },
        onAws,
    );
    const cluster = new Cluster(config.cluster.name, {
        ...config.cluster,
        clusterName: config.cluster.name,
        vpcId: network.vpcId,
        vpcCidr: config.network.cidr,
        privateSubnetIds: network.privateSubnetIds,
        publicSubnetIds: network.publicSubnetIds,
        retainVolumes: config.isProduction,
        tags: config.tags,
    }, onAws);
    // The owner creates every configured service's repository (also in the platform phase:
    // that is what it is for); another stack looks up only those of the services it runs.
    const registry = new Registry("ecr", {
        ...config.registry,
        repositories: config.registry.owner ? config.registry.repositories : services.run.map((s) => s.name),
        tags: config.tags,
    }, onAws);

    // Data stores: secrets -> database, cache -> backups. Private subnets, reachable
    // from the nodes only, every stateful resource protected.
    const secrets = new AppSecrets("secrets", { stack: config.stack, settings: config.secrets, tags: config.tags }, onAws);
    const dataPlacement = { vpcId: network.vpcId, subnetIds: network.privateSubnetIds, nodeSecurityGroupId: cluster.nodeSecurityGroupId, tags: config.tags };
    const database = new Database("database", {
        ...dataPlacement,
        settings: config.database,
        identifier: `candlefish-maturity-map-${config.stack}-db`,
        masterUserSecretKmsKeyArn: secrets.kmsKey.arn,
    }, onAws);
    // The apps' and the exporter's own logins (docs/DATABASE.md): not the RDS master user,
    // whose password RDS rotates under running pods.
    const dbCredentials = new DatabaseCredentials("database-credentials", {
        prefix: secrets.prefix,
        kmsKeyArn: secrets.kmsKey.arn,
        version: config.database.credentialsVersion,
        recoveryWindowDays: config.secrets.recoveryWindowDays,
        tags: config.tags,
    }, onAws);
    const cache = new Cache("cache", {
        ...dataPlacement,
        settings: config.cache,
        identifier: `candlefish-${config.stack}-redis`,
        authSecretName: `${secrets.prefix}redis-auth`,
        secretsKmsKeyArn: secrets.kmsKey.arn,
        recoveryWindowDays: config.secrets.recoveryWindowDays,
    }, onAws);
    // S3 bucket names are global: a created one carries the account and region (backups.bucket).
    const account = aws.getCallerIdentityOutput({}, { provider: awsProvider }).accountId;
    const backups = new Backups("backups", {
        stack: config.stack,
        bucketMode: config.backups.bucket,
        bucketName:
            config.backups.bucket === "create"
                ? account.apply((id) => backupBucketName(config.stack, config.isProduction, id, config.region))
                : config.backups.bucketName!,
        settings: config.backups,
        databaseArn: database.arn,
        tags: config.tags,
    }, onAws);
    // The Route53 zone, created or found as dns.zone says; none on a first run without DNS.
    const dns = config.dns.enabled && config.dns.zone
        ? new DnsZone("dns", { mode: config.dns.zone, zoneName: config.dns.zoneName, found: foundZone, tags: config.tags }, onAws)
        : undefined;
    // RDS and ElastiCache sit in the private subnets, so pods reach them at VPC
    // addresses (their security groups admit the nodes' group only); no rule
    // reaches 169.254.169.254, which lies outside the VPC block anyway.
    const dataStores: DataStoreDestinations = {
        database: { to: [anyAddressExceptMetadata(config.network.cidr)], port: database.port },
        redis: { to: [anyAddressExceptMetadata(config.network.cidr)], port: cache.port },
    };
    // Every in-cluster resource talks to this cluster, never to an ambient kubeconfig;
    // the in-cluster components that also declare AWS resources (IAM roles, records) get both providers.
    const inCluster = { providers: [cluster.provider] };
    const inClusterAndAws = { providers: [cluster.provider, awsProvider] };
    let delivery: SecretDelivery | undefined;
    /** The role Job: the program's own database logins exist once it has run. */
    let databaseReady: pulumi.Resource[] = [];
    /** The RDS root CAs' volume and mount, for every pod that connects to the database. */
    let rdsCaFiles: PodFiles = NO_POD_FILES;

    return {
        platform: "aws",
        services,
        provider: cluster.provider,
        cluster: { kubeconfig: cluster.kubeconfig },
        repositories: registry.repositoryUrls,
        trafficSources: AWS_TRAFFIC_SOURCES,
        dataStores,

        // Secrets reach pods as Kubernetes Secrets through External Secrets Operator (IRSA).
        deliverSecrets(ns: AppNamespace): DeliveredSecrets {
            const d = new SecretDelivery("secret-delivery", {
                stack: config.stack,
                region: config.region,
                namespace: ns.name,
                settings: config.secrets,
                oidcProviderArn: cluster.oidcProviderArn,
                oidcProviderUrl: cluster.oidcProviderUrl,
                secrets,
                database: {
                    address: database.address,
                    port: database.port,
                    dbName: database.dbName,
                    masterUserSecretArn: database.masterUserSecretArn,
                    credentials: dbCredentials,
                },
                redis: { host: cache.primaryEndpoint, port: cache.port, authSecretName: `${secrets.prefix}redis-auth`, authVersionId: cache.authSecretVersion.versionId },
                tags: config.tags,
            }, { ...inClusterAndAws, dependsOn: [ns] });
            delivery = d;
            // Every database client verifies the server against the region's RDS roots (sslmode=verify-full).
            const rdsCa = new RdsCaBundle("rds-ca", { namespace: ns.name, region: config.region }, { ...inCluster, dependsOn: [ns] });
            rdsCaFiles = rdsCa.podFiles;
            // The logins exist in PostgreSQL, with their current passwords, before any app pod or migration starts.
            // The Job's pods reach the database and nothing else (its own NetworkPolicy, in place before it runs).
            const roles = new DatabaseRoles("database-roles", {
                namespace: ns.name,
                database: {
                    address: database.address,
                    port: database.port,
                    dbName: database.dbName,
                    identifier: instanceIdentifier(`candlefish-maturity-map-${config.stack}-db`, config.database.restoreFromSnapshot),
                },
                destination: dataStores.database,
                adminSecretName: d.databaseSecretNames.admin,
                credentials: dbCredentials,
                version: config.database.credentialsVersion,
                rdsCa: rdsCa.podFiles,
            }, { ...inCluster, dependsOn: [ns] });
            databaseReady = [roles.job];
            return {
                secretEnvFor: (names) => d.secretEnvFor(names),
                secretFilesFor: (names) => (names.includes(ENV_OF.database.env) ? rdsCa.podFiles : NO_POD_FILES),
                rotationChecksum: d.rotationChecksum,
                ready: [roles.job],
            };
        },

        // In-cluster platform (issue "In-cluster platform"): TLS, ingress + DNS, monitoring.
        installPlatform({ namespace: ns, maintenance }: AppTier): FoundationOutputs {
            if (!delivery) throw new Error("internal: installPlatform before deliverSecrets");
            const apiHosts = config.ingress.hosts;
            // DNS-01 unless the stack chose HTTP-01; with no zone yet, no issuer can solve anything.
            const solver = config.tls.solver === "http01" ? "http01" : dns ? "dns01" : "none";
            if (solver === "none")
                pulumi.log.warn(
                    "dns.enabled=false and tls.solver=dns01: no ClusterIssuer and no Certificate is declared until DNS is on " +
                        "(set dns.zone and dns.enabled=true), so the Ingress serves ingress-nginx's default certificate",
                );
            const tls = new Certificates("tls", {
                acmeEmail: config.tls.acmeEmail,
                issuer: config.tls.issuer,
                namespace: ns.name,
                dnsNames: [config.domain, ...Object.values(apiHosts).sort()],
                solver,
                ingressClassName: INGRESS_CLASS,
                dns01: dns && {
                    hostedZoneId: dns.zoneId,
                    region: config.region,
                    oidcProviderArn: cluster.oidcProviderArn,
                    oidcProviderUrl: cluster.oidcProviderUrl,
                    // candlefish-*: the deploying role may create only roles so named (docs/iam/).
                    roleName: `candlefish-${config.stack}-cert-manager-dns01`,
                    tags: config.tags,
                },
            }, inClusterAndAws);
            const ingress = new Ingress("ingress", {
                namespace: ns.name,
                domain: config.domain,
                rootService: config.ingress.rootService,
                hosts: apiHosts,
                tlsSecretName: tls.secretName,
                controllerReplicas: config.ingress.controllerReplicas,
                loadBalancerTag: `candlefish-maturity-map-${config.stack}`,
                // Runbook "Enable Maintenance Mode": the domain moves to the page; health endpoints keep answering.
                maintenanceBackend: config.maintenanceMode ? maintenance?.backend : undefined,
                dns: dns && { zoneId: dns.zoneId, overwriteExisting: config.dns.overwriteRecords },
                // In maintenance mode the domain moves only once the page's Service has endpoints.
            }, { ...inClusterAndAws, dependsOn: [ns, ...(config.maintenanceMode && maintenance ? [maintenance.service] : [])] });
            const monitoring = new Monitoring("monitoring", {
                appNamespace: config.namespace,
                appNamespaceRef: ns.name,
                services: config.services.map((s) => s.name),
                environment: config.environment,
                monitoring: config.monitoring,
                alerts: config.alerts,
                // The postgres exporter logs in as its own pg_monitor login, once the role Job made it.
                postgres: { secretName: delivery.databaseSecretNames.monitor, key: "DATABASE_URL", rotationChecksum: delivery.monitorChecksum, files: rdsCaFiles },
                // The redis exporter reads the same Secret rtpm-api gets.
                redis: { secretName: K8S_SECRETS.redis, key: "REDIS_URL" },
                rds: { memoryBytes: config.database.memoryGiB * 2 ** 30 },
                platformTargets: [tls.metricsTarget, ingress.metricsTarget],
                logicalBackup: { cronJob: LOGICAL_BACKUP, alertAfterHours: config.backups.logicalDump.alertAfterHours },
            // Not after the role Job: the exporter retries its login on every scrape until the Job made it.
            }, { ...inCluster, dependsOn: [ns, delivery] });
            // RDS CPU, memory and storage reach Prometheus (and so the same receivers) through CloudWatch.
            new CloudWatchExporter("cloudwatch-exporter", {
                stack: config.stack,
                namespace: MONITORING_NAMESPACE,
                region: config.region,
                // The tags components/database.ts puts on the instance: this stack's database only.
                searchTags: { project: config.tags.project, stack: config.tags.stack, component: "database" },
                oidcProviderArn: cluster.oidcProviderArn,
                oidcProviderUrl: cluster.oidcProviderUrl,
                tags: config.tags,
            }, { ...inClusterAndAws, dependsOn: [monitoring.release] });
            // Runbook "Database Backup": the daily pg_dump into s3://<backups bucket>/database/.
            // It logs in as the app's own login (rtpm-api-database: candlefish_app_a|b, whose group
            // owns what the migrations create, so it can read every table), never the master user
            // (docs/DATABASE.md); its first run waits for the role Job that makes the login.
            new LogicalBackup("logical-backup", {
                stack: config.stack,
                namespace: ns.name,
                region: config.region,
                settings: config.backups.logicalDump,
                dbName: config.database.dbName,
                databaseUrl: { secretName: K8S_SECRETS.database, key: "DATABASE_URL", files: rdsCaFiles },
                bucketName: backups.bucketName,
                bucketArn: backups.bucketArn,
                kmsKeyArn: backups.kmsKey.arn,
                oidcProviderArn: cluster.oidcProviderArn,
                oidcProviderUrl: cluster.oidcProviderUrl,
                // The cluster's default StorageClass (components/cluster.ts).
                storageClass: "gp3",
                tags: config.tags,
                after: databaseReady,
            }, { ...inClusterAndAws, dependsOn: [ns, delivery] });

            // Default deny in every platform namespace, per-target rules, and the
            // exporters' and the ACME solver's rules in the app namespace.
            new PlatformNetworkPolicies("platform-network", {
                appNamespace: ns.name,
                exporters: { postgres: dataStores.database, redis: dataStores.redis },
            }, { ...inCluster, dependsOn: [ns, tls, ingress, monitoring] });

            return {
                clusterName: cluster.clusterName,
                kubeconfig: cluster.kubeconfig,
                vpcId: network.vpcId,
                databaseAddress: database.address,
                databaseSecretArn: database.masterUserSecretArn,
                redisEndpoint: cache.primaryEndpoint,
                backupBucket: backups.bucketName,
                backupVault: backups.vault.name,
                dnsZoneId: dns?.zoneId,
                dnsNameServers: dns?.nameServers,
                secretNames: { config: secrets.configSecretName, jwt: secrets.jwtSecretName },
                urls: ingress.hosts.map((h) => `https://${h}`),
                loadBalancerHostname: ingress.loadBalancerHostname,
                grafanaAdminPassword: monitoring.grafanaAdminPassword,
                deployRunner: {
                    label: config.cluster.deployRunner.label,
                    access: config.cluster.deployRunner.access,
                    // Access "vpc": launch the runner in one of these subnets with this security group.
                    ...(cluster.deployRunnerSecurityGroup
                        ? { securityGroupId: cluster.deployRunnerSecurityGroup.id, subnetIds: network.privateSubnetIds }
                        : {}),
                },
            };
        },
    };
}
