// The RDS PostgreSQL database: every FSBP RDS setting the issue lists, the
// production/staging differences, and restore-from-snapshot as config.
import { strict as assert } from "assert";
import { Rendered } from "../plan/render";
import { instanceIdentifier } from "../components/database";
import { find, inputs, ofType, parseWith, renderBoth, renderStack } from "./harness";

const INSTANCE = "aws:rds/instance:Instance";
const KMS_ARN = (name: string) => `arn:aws:kms:us-east-1:123456789012:key/${name}`;

describe("database (RDS PostgreSQL)", function () {
    this.timeout(60000);
    let prod: Rendered;
    let staging: Rendered;
    before(async () => {
        ({ prod, staging } = await renderBoth());
    });

    it("declares exactly one instance per stack, named after the stack, protected and retained on delete", () => {
        for (const [r, stack] of [[prod, "production"], [staging, "staging"]] as const) {
            assert.equal(ofType(r, INSTANCE).length, 1);
            const db = find(r, INSTANCE, "database-instance");
            assert.equal(inputs(db).identifier, `candlefish-maturity-map-${stack}-db`);
            assert.equal(db.options.protect, true);
            assert.equal(db.options.retainOnDelete, true);
        }
    });

    it("production meets the FSBP RDS controls the issue lists", () => {
        const i = inputs(find(prod, INSTANCE, "database-instance"));
        assert.equal(i.engine, "postgres");
        assert.equal(i.engineVersion, "16");
        assert.equal(i.storageEncrypted, true, "RDS.3");
        assert.equal(i.kmsKeyId, KMS_ARN("database-kms"), "RDS.3 with the database's own key");
        assert.equal(i.multiAz, true, "RDS.5");
        assert.equal(i.publiclyAccessible, false, "RDS.2");
        assert.equal(i.backupRetentionPeriod, 30, "RDS.11, longer in production");
        assert.equal(i.deletionProtection, true, "RDS.8");
        assert.equal(i.skipFinalSnapshot, false);
        assert.equal(i.finalSnapshotIdentifier, "candlefish-maturity-map-production-db-final");
        assert.equal(i.copyTagsToSnapshot, true, "RDS.17");
        assert.equal(i.performanceInsightsEnabled, true);
        assert.equal(i.performanceInsightsKmsKeyId, KMS_ARN("database-kms"));
        assert.ok(i.enabledCloudwatchLogsExports.includes("postgresql"), "RDS.9");
        assert.equal(i.iamDatabaseAuthenticationEnabled, true, "RDS.10");
        assert.equal(i.autoMinorVersionUpgrade, true, "RDS.13");
        assert.equal(i.monitoringInterval, 60, "RDS.6");
        assert.equal(i.monitoringRoleArn, "arn:aws:iam::123456789012:role/candlefish-maturity-map-production-db-monitoring");
        assert.equal(i.port, 5432);
        assert.equal(i.dbName, "candlefish", "the database the runbook dumps");
        assert.equal(i.instanceClass, "db.r6g.large");
        assert.equal(i.allocatedStorage, 100);
        assert.equal(i.maxAllocatedStorage, 1000);
        assert.equal(i.storageType, "gp3");
    });

    it("the master password is managed by RDS: no password input, its secret encrypted with the secrets key", () => {
        const raw = find(prod, INSTANCE, "database-instance").inputs;
        const i = inputs(find(prod, INSTANCE, "database-instance"));
        assert.equal(i.manageMasterUserPassword, true);
        assert.equal("password" in raw, false);
        assert.equal("passwordWo" in raw, false);
        assert.equal(i.masterUserSecretKmsKeyId, KMS_ARN("secrets-kms"));
    });

    it("staging is the same shape at a smaller size: single-AZ, 7-day backups, burstable class", () => {
        const i = inputs(find(staging, INSTANCE, "database-instance"));
        assert.equal(i.multiAz, false);
        assert.equal(i.backupRetentionPeriod, 7);
        assert.equal(i.instanceClass, "db.t4g.medium");
        assert.equal(i.allocatedStorage, 20);
        assert.equal(i.maxAllocatedStorage, 100);
        // The safety settings do not depend on the environment.
        for (const k of ["storageEncrypted", "deletionProtection", "copyTagsToSnapshot", "iamDatabaseAuthenticationEnabled", "autoMinorVersionUpgrade", "manageMasterUserPassword"])
            assert.equal(i[k], true, k);
        assert.equal(i.publiclyAccessible, false);
    });

    it("port 5432 is open to the EKS node security group only, and nothing leaves", () => {
        for (const [r, stack] of [[prod, "production"], [staging, "staging"]] as const) {
            const sg = inputs(find(r, "aws:ec2/securityGroup:SecurityGroup", "database-sg"));
            assert.deepEqual(sg.ingress, [
                {
                    description: "PostgreSQL from EKS nodes",
                    protocol: "tcp",
                    fromPort: 5432,
                    toPort: 5432,
                    securityGroups: [`sg-nodes-candlefish-maturity-map-${stack}-eks`],
                },
            ]);
            assert.deepEqual(sg.egress, []);
            assert.equal(sg.vpcId, `candlefish-${stack}-vpc-id`);
            assert.deepEqual(inputs(find(r, INSTANCE, "database-instance")).vpcSecurityGroupIds, ["database-sg-id"]);
        }
    });

    it("the DB subnet group holds the three private subnets", () => {
        const sn = inputs(find(prod, "aws:rds/subnetGroup:SubnetGroup", "database-subnets"));
        assert.deepEqual(sn.subnetIds, ["a", "b", "c"].map((z) => `candlefish-production-private-us-east-1${z}-id`));
        assert.equal(inputs(find(prod, INSTANCE, "database-instance")).dbSubnetGroupName, sn.name);
    });

    it("the parameter group forces TLS (rds.force_ssl=1) for the engine's family", () => {
        const pg = inputs(find(prod, "aws:rds/parameterGroup:ParameterGroup", "database-params"));
        assert.equal(pg.family, "postgres16");
        assert.deepEqual(pg.parameters.find((p: { name: string }) => p.name === "rds.force_ssl"), { name: "rds.force_ssl", value: "1" });
        assert.equal(inputs(find(prod, INSTANCE, "database-instance")).parameterGroupName, pg.name);
    });

    it("the database KMS key rotates and is protected", () => {
        const key = find(prod, "aws:kms/key:Key", "database-kms");
        assert.equal(inputs(key).enableKeyRotation, true);
        assert.equal(key.options.protect, true);
    });

    it("an older major version follows through to the parameter group family", async () => {
        const r = await renderStack("staging", ['database.engineVersion="15.7"']);
        assert.equal(inputs(find(r, INSTANCE, "database-instance")).engineVersion, "15.7");
        assert.equal(inputs(find(r, "aws:rds/parameterGroup:ParameterGroup", "database-params")).family, "postgres15");
    });

    describe("restore from a snapshot (database.restoreFromSnapshot)", () => {
        it("creates the instance from the snapshot, under a new identifier, taking db and user from it", async () => {
            const snap = "candlefish-pre-migration-0042";
            const r = await renderStack("production", [`database.restoreFromSnapshot=${snap}`]);
            const db = find(r, INSTANCE, "database-instance");
            const i = inputs(db);
            assert.equal(i.snapshotIdentifier, snap);
            assert.equal(i.identifier, instanceIdentifier("candlefish-maturity-map-production-db", snap));
            assert.match(i.identifier, /^candlefish-maturity-map-production-db-r[0-9a-f]{6}$/);
            assert.equal(i.finalSnapshotIdentifier, `${i.identifier}-final`);
            assert.equal("dbName" in i, false);
            assert.equal("username" in i, false);
            assert.equal(i.tags["restored-from"], snap);
            // Still every safety setting, and still protected.
            assert.equal(i.storageEncrypted, true);
            assert.equal(i.manageMasterUserPassword, true);
            assert.equal(db.options.protect, true);
            assert.equal(db.options.retainOnDelete, true);
            // The app follows: DATABASE_URL names the new host, and the pods roll to it.
            const url = (x: Rendered) =>
                inputs(find(x, "kubernetes:external-secrets.io/v1beta1:ExternalSecret", "secret-delivery-rtpm-api-database")).spec.target.template.data.DATABASE_URL;
            assert.match(url(r), new RegExp(`@${i.identifier}\\.`));
            const sum = (x: Rendered) => inputs(find(x, "kubernetes:apps/v1:Deployment", "rtpm-api-blue")).spec.template.metadata.annotations["checksum/secrets"];
            assert.notEqual(sum(r), sum(prod));
        });

        it("accepts automated, AWS Backup and ARN forms", () => {
            for (const snap of [
                "rds:candlefish-maturity-map-production-db-2026-01-27-03-10",
                "awsbackup:job-0c2bd9a1-6a77-4c27-9a8b-1f2e3d4c5b6a",
                "arn:aws:rds:us-east-1:123456789012:snapshot:candlefish-pre-migration-0042",
                "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-0c2bd9a1-6a77-4c27-9a8b-1f2e3d4c5b6a",
            ]) {
                assert.equal(parseWith("staging", [`database.restoreFromSnapshot=${snap}`]).database.restoreFromSnapshot, snap);
            }
        });

        it("without it, no snapshotIdentifier is sent and the identifier is the plain one", () => {
            const i = inputs(find(prod, INSTANCE, "database-instance"));
            assert.equal("snapshotIdentifier" in i, false);
            assert.equal(instanceIdentifier("x", undefined), "x");
        });
    });
});
