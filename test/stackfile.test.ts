// Stack files and `--set` edits behave like `pulumi config set --path`, and
// the render harness records what the engine would receive.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PROJECT } from "../config/source";
import { ConfigError, ConfigSource, parseConfig } from "../config";
import { ROOT, SECURE_PLACEHOLDER, STAND_INS, StackFileError, applySet, applyStandIns, listStacks, loadStack, parsePath, readStack } from "../plan/stackfile";
import { MOCK_ACCOUNT } from "../plan/mocks";
import { Secret, redact, refOf, reveal } from "../plan/render";
import { changedPaths } from "../plan/diff";
import * as YAML from "yaml";
import { parseStack } from "./harness";
import { LOCAL_STACK_PASSPHRASE, passphraseDecrypter, secureValues } from "./passphrase";

describe("stack files and --set edits", () => {
    it("parses pulumi config paths: dots, indices and quoted segments", () => {
        assert.deepEqual(parsePath("services.rtpm-api.green.imageTag"), ["services", "rtpm-api", "green", "imageTag"]);
        assert.deepEqual(parsePath('alerts.receivers[0]["a.b"]'), ["alerts", "receivers", 0, "a.b"]);
        assert.deepEqual(parsePath("aws:region"), ["aws:region"]);
        for (const bad of ["", "a..b", ".a", "a.", "a[x]"]) assert.throws(() => parsePath(bad), StackFileError, bad);
    });

    it("sets nested values, creating objects on the way, with YAML scalar typing", () => {
        const cfg = { values: {} as Record<string, unknown>, secretKeys: new Set<string>(), secretPaths: new Set<string>() };
        applySet(cfg, "services.rtpm-api.green.imageTag=v2.0.0");
        applySet(cfg, "services.rtpm-api.green.replicas=3");
        applySet(cfg, "maintenanceMode=true");
        applySet(cfg, "aws:region=eu-west-1");
        assert.deepEqual(cfg.values, {
            [`${PROJECT}:services`]: { "rtpm-api": { green: { imageTag: "v2.0.0", replicas: 3 } } },
            [`${PROJECT}:maintenanceMode`]: true,
            "aws:region": "eu-west-1",
        });
    });

    it("refuses malformed edits with the flag named", () => {
        const cfg = { values: { [`${PROJECT}:activeColor`]: "blue" } as Record<string, unknown>, secretKeys: new Set<string>(), secretPaths: new Set<string>() };
        assert.throws(() => applySet(cfg, "activeColor"), /--set: expected PATH=VALUE/);
        assert.throws(() => applySet(cfg, "activeColor.x=1"), /--set: activeColor is a scalar/);
        assert.throws(() => applySet(cfg, "a=[1, 2]"), /--set: VALUE must be a scalar/);
    });

    it("reads the committed stacks and refuses an unknown one, listing the real ones", () => {
        assert.deepEqual(listStacks().filter((s) => s === "production" || s === "staging"), ["production", "staging"]);
        assert.equal(loadStack("production").config[`${PROJECT}:activeColor`], "blue");
        assert.throws(() => readStack("prodution"), /--stack: unknown stack "prodution".*stacks: .*production/);
        assert.throws(() => readStack("../etc/passwd"), /unknown stack/);
    });

    it("replaces secure: values by a marked placeholder and flags the key secret", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-"));
        fs.writeFileSync(
            path.join(dir, "Pulumi.demo.yaml"),
            `config:\n  ${PROJECT}:alerts:\n    slackWebhook:\n      secure: AAABADEADBEEF\n  ${PROJECT}:activeColor: blue\n`,
        );
        const { config, secretKeys } = loadStack("demo", [], dir);
        assert.deepEqual(JSON.parse(config[`${PROJECT}:alerts`]), { slackWebhook: SECURE_PLACEHOLDER });
        assert.deepEqual(secretKeys, [`${PROJECT}:alerts`]);
        assert.ok(!JSON.stringify(config).includes("AAABADEADBEEF"));
    });
});

describe("required values a stack file leaves to the operator", () => {
    it("no committed stack file holds a fake `secure:` value or an example ARN in the mock account", () => {
        for (const stack of listStacks()) {
            const text = fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8");
            const doc = YAML.parse(text);
            const { secretKeys } = readStack(stack);
            // A real CLI decrypts every secure: value before the program runs. Only the local
            // stacks carry any, under their published local-only passphrase; the AWS stacks none.
            if (doc.encryptionsalt === undefined) {
                assert.deepEqual([...secretKeys], [], `${stack}: a secure: value without the stack's encryptionsalt cannot be decrypted`);
            } else {
                assert.equal(parseStack(stack).platform, "local", `${stack}: only a local stack may use the published passphrase`);
                const decrypt = passphraseDecrypter(doc.encryptionsalt, LOCAL_STACK_PASSPHRASE);
                const values = secureValues(doc.config);
                assert.ok(values.length > 0, stack);
                for (const v of values) assert.ok(decrypt(v.ciphertext).length > 0, `${stack}: ${v.path}`);
            }
            assert.doesNotMatch(text.replace(/^\s*#.*$/gm, ""), new RegExp(`arn:aws:[a-z]+::${MOCK_ACCOUNT}:`), `${stack}: no ARN in the mock account`);
        }
    });

    it("the offline plan stands in for exactly the values the program requires and the stack leaves unset", () => {
        const prod = readStack("production");
        assert.deepEqual(applyStandIns("production", prod).map((s) => s.key), ["cluster.adminRoleArn", "cluster.deployRoleArn", "cluster.readOnlyRoleArn", "alerts.slackWebhookUrl", "dns.zone"]);
        assert.deepEqual(prod.values[`${PROJECT}:cluster`], {
            adminRoleArn: `arn:aws:iam::${MOCK_ACCOUNT}:role/offline-plan-stand-in`,
            deployRoleArn: `arn:aws:iam::${MOCK_ACCOUNT}:role/offline-plan-deploy-stand-in`,
            readOnlyRoleArn: `arn:aws:iam::${MOCK_ACCOUNT}:role/offline-plan-read-only-stand-in`,
        });
        assert.deepEqual(prod.values[`${PROJECT}:alerts`], { slackChannel: "#candlefish-ops", slackWebhookUrl: SECURE_PLACEHOLDER });
        assert.deepEqual([...prod.secretKeys], [`${PROJECT}:alerts`], "the webhook's stand-in is a secret, as the real value must be");
        // Staging requires none of them.
        assert.deepEqual(applyStandIns("staging", readStack("staging")), []);
        // A value the stack sets is never replaced.
        const set = readStack("production");
        applySet(set, "cluster.adminRoleArn=arn:aws:iam::210987654321:role/ops/admins");
        assert.deepEqual(applyStandIns("production", set).map((s) => s.key), ["cluster.deployRoleArn", "cluster.readOnlyRoleArn", "alerts.slackWebhookUrl", "dns.zone"]);
        assert.equal((set.values[`${PROJECT}:cluster`] as any).adminRoleArn, "arn:aws:iam::210987654321:role/ops/admins");
        // Staging turned into a production environment needs them too, by the program's own rules.
        const staging = readStack("staging");
        applySet(staging, "environment=production");
        // (staging's stack file states dns.zone, so that one stays its own.)
        assert.deepEqual(applyStandIns("staging", staging).map((s) => s.key), ["cluster.adminRoleArn", "cluster.deployRoleArn", "cluster.readOnlyRoleArn", "alerts.slackWebhookUrl"]);
        assert.deepEqual(STAND_INS.map((s) => [s.key, s.secret]), [
            ["cluster.adminRoleArn", false],
            ["cluster.deployRoleArn", false],
            ["cluster.readOnlyRoleArn", false],
            ["alerts.slackWebhookUrl", true],
            ["dns.zone", false],
        ]);
    });

    it("loadStack (tests, plan) applies them; the program's own loader does not", () => {
        const { config, secretKeys } = loadStack("production");
        assert.equal(JSON.parse(config[`${PROJECT}:cluster`]).adminRoleArn, `arn:aws:iam::${MOCK_ACCOUNT}:role/offline-plan-stand-in`);
        assert.ok(secretKeys.includes(`${PROJECT}:alerts`));
        // The program, given the stack file as it is, names both (what `pulumi preview` shows: test/real-cli.test.ts).
        const raw: Record<string, string> = {};
        for (const [k, v] of Object.entries(readStack("production").values)) if (k.startsWith(`${PROJECT}:`)) raw[k.slice(PROJECT.length + 1)] = typeof v === "object" ? JSON.stringify(v) : String(v);
        assert.throws(
            () => parseConfig(new ConfigSource("production", raw, new Set(), { "aws:region": "us-east-1" })),
            (e: ConfigError) => {
                assert.deepEqual(e.issues.map((i) => i.key), ["cluster.adminRoleArn", "cluster.deployRoleArn", "cluster.readOnlyRoleArn", "dns.zone", "alerts.slackWebhookUrl"]);
                assert.match(e.message, /alerts\.slackWebhookUrl: required in production: .*`pulumi config set --secret --path alerts\.slackWebhookUrl https:\/\/hooks\.slack\.com\/services\//);
                return true;
            },
        );
    });
});

describe("render harness helpers", () => {
    it("turns URNs into <type>::<name>, including children of components", () => {
        assert.equal(refOf("urn:pulumi:production::candlefish-maturity-map::kubernetes:core/v1:Service::web"), "kubernetes:core/v1:Service::web");
        assert.equal(
            refOf("urn:pulumi:production::candlefish-maturity-map::candlefish:apps:BlueGreenService$kubernetes:apps/v1:Deployment::web-blue"),
            "kubernetes:apps/v1:Deployment::web-blue",
        );
    });

    it("prints secrets as a placeholder and reveals them only on request", () => {
        const v = { a: new Secret("hunter2"), b: [new Secret({ c: "x", d: ["y"] })] };
        assert.deepEqual(redact(v), { a: "[secret]", b: [{ c: "[secret]", d: ["[secret]"] }] });
        assert.deepEqual(reveal(v), { a: "hunter2", b: [{ c: "x", d: ["y"] }] });
    });

    it("diffs by dotted path, arrays by index", () => {
        assert.deepEqual(changedPaths({ spec: { selector: { version: "blue" }, ports: [1, 2] } }, { spec: { selector: { version: "green" }, ports: [1, 3] } }), [
            "spec.ports.1",
            "spec.selector.version",
        ]);
        assert.deepEqual(changedPaths({ a: 1 }, { a: 1 }), []);
        assert.deepEqual(changedPaths({ a: 1 }, { a: 1, b: 2 }), ["b"]);
    });
});
