// Bad input stops the program before any resource is registered, with a
// message that names the key and says what was expected.
import { strict as assert } from "assert";
import { ConfigError, ConfigSource, parseConfig } from "../config";
import { render } from "../plan/render";
import { loadStack } from "../plan/stackfile";
import { PROJECT } from "../config/source";
import { expectRejected, parseWith } from "./harness";

describe("config: bad input is refused before anything is registered", () => {
    const cases: { what: string; edits: string[]; key: string; says: RegExp }[] = [
        { what: "a typo'd top-level key, with the near key suggested", edits: ["activeColour=green"], key: "activeColour", says: /did you mean "activeColor"/ },
        { what: "a typo'd nested key", edits: ["services.rtpm-api.green.imageTagg=v2.0.0"], key: "services.rtpm-api.green.imageTagg", says: /did you mean "imageTag"/ },
        { what: "an unknown color", edits: ["activeColor=purple"], key: "activeColor", says: /one of "blue", "green"/ },
        { what: "an unknown per-service color", edits: ["services.nanda-api.activeColor=teal"], key: "services.nanda-api.activeColor", says: /one of "blue", "green"/ },
        { what: "a missing activeColor", edits: ["activeColor="], key: "activeColor", says: /required/ },
        { what: "a wrong type (replicas as text)", edits: ["services.rtpm-api.blue.replicas=three"], key: "services.rtpm-api.blue.replicas", says: /integer/ },
        { what: "a negative replica count", edits: ["services.rtpm-api.blue.replicas=-1"], key: "services.rtpm-api.blue.replicas", says: /from 0 to 100/ },
        { what: "an out-of-range port", edits: ["services.rtpm-api.port=80"], key: "services.rtpm-api.port", says: /from 1024 to 65535/ },
        { what: "the mutable tag latest", edits: ["services.candlefish-website.blue.imageTag=latest"], key: "services.candlefish-website.blue.imageTag", says: /immutable/ },
        { what: "the mutable tag main", edits: ["services.otter-gateway.green.imageTag=main"], key: "services.otter-gateway.green.imageTag", says: /moving tags such as latest are refused/ },
        { what: "a short digest", edits: ["services.otter-gateway.green.imageTag=sha256:abc"], key: "services.otter-gateway.green.imageTag", says: /digest/ },
        { what: "a live color with 0 replicas", edits: ["services.rtpm-api.green.replicas=0"], key: "services.rtpm-api.green.replicas", says: /live color \(activeColor=green\) but has 0 replicas/ },
        { what: "a live override with 0 replicas", edits: ["services.rtpm-api.activeColor=blue", "services.rtpm-api.blue.replicas=0"], key: "services.rtpm-api.blue.replicas", says: /services\.rtpm-api\.activeColor=blue/ },
        { what: "a feature flag that is not UPPER_SNAKE", edits: ["services.candlefish-website.green.featureFlags.new-ui=true"], key: "services.candlefish-website.green.featureFlags.new-ui", says: /UPPER_SNAKE_CASE/ },
        { what: "a feature flag with the FEATURE_ prefix", edits: ["services.candlefish-website.green.featureFlags.FEATURE_X=true"], key: "services.candlefish-website.green.featureFlags.FEATURE_X", says: /without its FEATURE_ prefix/ },
        { what: "a service name that is not a DNS label", edits: ["services.Bad_Name.blue.imageTag=v1.0.0"], key: "services.Bad_Name", says: /DNS label/ },
        { what: "a bad namespace", edits: ["namespace=Prod!"], key: "namespace", says: /DNS label/ },
        { what: "a bad CPU quantity", edits: ["services.rtpm-api.limits.cpu=lots"], key: "services.rtpm-api.limits.cpu", says: /CPU quantity/ },
    ];
    for (const c of cases) {
        it(`rejects ${c.what}`, async () => {
            const { message, registered } = await expectRejected("staging", c.edits);
            assert.equal(registered, 0);
            const line = message.split("\n").find((l) => l.includes(`- ${c.key}:`));
            assert.ok(line, `no line names ${c.key}:\n${message}`);
            assert.match(line!, c.says);
        });
    }

    it("rejects a live color with no image and says what to set", async () => {
        const { config } = loadStack("staging");
        const services = JSON.parse(config[`${PROJECT}:services`]);
        delete services["nanda-api"].green.imageTag;
        config[`${PROJECT}:services`] = JSON.stringify(services);
        await assert.rejects(render({ stack: "staging", config }), (e: Error) => {
            assert.ok(e instanceof ConfigError);
            assert.match(e.message, /- services\.nanda-api\.green\.imageTag: green is the live color \(activeColor=green\) but has no image; set services\.nanda-api\.green\.imageTag/);
            return true;
        });
    });

    it("reports every problem in one run, not just the first", () => {
        assert.throws(
            () => parseWith("staging", ["activeColour=green", "services.rtpm-api.blue.imageTag=latest", "services.nanda-api.blue.replicas=-3"]),
            (e: ConfigError) => {
                assert.deepEqual(
                    e.issues.map((i) => i.key).sort(),
                    ["activeColour", "services.nanda-api.blue.replicas", "services.rtpm-api.blue.imageTag"],
                );
                return true;
            },
        );
    });

    it("rejects structured config that is not valid JSON, naming the key", () => {
        assert.throws(() => parseConfig(new ConfigSource("staging", { activeColor: "blue", services: "{not json" })), /- services: is not valid structured config/);
    });

    it("leaves other namespaces (aws:region) to their providers", () => {
        const cfg = parseWith("staging", ["aws:region=eu-west-1"]);
        assert.equal(cfg.activeColor, "green");
    });
});

describe("config: accepted values", () => {
    it("accepts release tags, git SHAs and digests, and renders digests with @", async () => {
        const digest = "sha256:" + "a".repeat(64);
        const cfg = parseWith("staging", [
            "services.rtpm-api.blue.imageTag=2.5.0-rc.1+build.7",
            "services.nanda-api.blue.imageTag=3f2c1ab",
            `services.otter-gateway.blue.imageTag=${digest}`,
        ]);
        const tag = (n: string) => cfg.services.find((s) => s.name === n)!.colors.blue.imageTag;
        assert.equal(tag("rtpm-api"), "2.5.0-rc.1+build.7");
        assert.equal(tag("nanda-api"), "3f2c1ab");
        assert.equal(tag("otter-gateway"), digest);
    });

    it("takes the namespace and environment from the stack name by default", () => {
        const cfg = parseWith("staging", []);
        assert.equal(cfg.namespace, "staging");
        assert.equal(cfg.environment, "staging");
        assert.equal(cfg.isProduction, false);
        const prod = parseWith("production", []);
        assert.equal(prod.namespace, "production");
        assert.equal(prod.isProduction, true);
    });

    it("uses the service-level replicas as the default for both colors, and a color's own count over it", () => {
        const cfg = parseWith("staging", ["services.rtpm-api.green.replicas=4"]);
        const svc = cfg.services.find((s) => s.name === "rtpm-api")!;
        assert.equal(svc.colors.blue.replicas, 1); // staging sets services.rtpm-api.replicas: 1
        assert.equal(svc.colors.green.replicas, 4);
    });

    it("coerces numbers and booleans from the strings `pulumi config set` may store", () => {
        const cfg = parseWith("staging", ["serviceCatalog.x.port='8081'", "services.x.replicas='3'", "services.x.blue.imageTag=v1.0.0", "services.x.green.imageTag=v1.0.0", "readOnlyMode='true'"]);
        const x = cfg.services.find((s) => s.name === "x")!;
        assert.equal(x.colors.blue.replicas, 3);
        assert.equal(x.port, 8081); // declared by the stack (serviceCatalog), with its port
        assert.equal(x.containerName, "x");
        assert.deepEqual([x.requests, x.limits], [{ cpu: "100m", memory: "256Mi" }, { cpu: "500m", memory: "512Mi" }]);
    });

    it("requires an environment for a stack whose name is not one", () => {
        assert.throws(() => parseWith("staging", [], {}, { as: "dev-alice" }), (e: ConfigError) => {
            assert.match(e.message, /- environment: required; expected one of "production", "staging", "development"/);
            return true;
        });
        const cfg = parseWith("staging", ["environment=development"], {}, { as: "dev-alice" });
        assert.equal(cfg.environment, "development");
        // The runbook's `development` namespace, whatever the personal stack is called.
        assert.equal(cfg.namespace, "development");
        assert.equal(parseWith("staging", ["environment=development", "namespace=dev-alice"], {}, { as: "dev-alice" }).namespace, "dev-alice");
        // Stacks named after their environment keep the namespace they always had.
        assert.equal(parseWith("production").namespace, "production");
        assert.equal(parseWith("staging").namespace, "staging");
    });
});
