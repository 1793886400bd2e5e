// Operations as config: the keys `maintenanceMode`, `readOnlyMode`,
// `maintenance` and `migrations`; bad input stops the program before any
// resource is registered; read-only mode and emergency scale are one-key edits
// that touch exactly what the runbook's kubectl patches touched.
import { strict as assert } from "assert";
import { ConfigSource, parseConfig } from "../config";
import { Rendered } from "../plan/render";
import { DEFAULT_MAINTENANCE_MESSAGE } from "../config/operations";
import { DEPLOYMENT, SERVICE, SERVICES, brief, diffRenders, expectRejected, find, inputs, parseWith, renderStack, renderWith, withRegistrationCount } from "./harness";

describe("operations config: defaults", () => {
    it("production: modes off, the configured page with two replicas, rtpm-api migrations", () => {
        const cfg = parseWith("production", []);
        assert.equal(cfg.maintenanceMode, false);
        assert.equal(cfg.readOnlyMode, false);
        assert.deepEqual(cfg.maintenance, {
            image: "nginxinc/nginx-unprivileged:1.27.3-alpine",
            replicas: 2,
            retryAfterSeconds: 1800,
            message: DEFAULT_MAINTENANCE_MESSAGE,
        });
        assert.deepEqual(cfg.migrations, [{ service: "rtpm-api", command: ["python", "manage.py", "migrate"], backoffLimit: 1, activeDeadlineSeconds: 900, runOlderTags: false }]);
    });

    it("staging runs one page replica; a stack without maintenance.image has no page", () => {
        assert.equal(parseWith("staging", []).maintenance?.replicas, 1);
        assert.equal(parseWith("staging", [], { maintenance: undefined }).maintenance, undefined);
    });

    it("the default rtpm-api migration applies only to stacks that run rtpm-api", () => {
        const raw = {
            activeColor: "blue",
            services: JSON.stringify({ "candlefish-website": { blue: { imageTag: "v1.0.0" }, green: { imageTag: "v1.0.0" } } }),
            dns: JSON.stringify({ zone: "existing" }),
        };
        const region = { "aws:region": "us-east-1" };
        assert.deepEqual(parseConfig(new ConfigSource("staging", raw, new Set(), region)).migrations, []);
        // ...while an explicit entry for a missing service is an error.
        assert.throws(
            () => parseConfig(new ConfigSource("staging", { ...raw, migrations: JSON.stringify({ "rtpm-api": { command: ["m"] } }) }, new Set(), region)),
            /- migrations\.rtpm-api: no such service; expected one of: candlefish-website/,
        );
    });

    it("accepts booleans as `pulumi config set` stores them (strings) and digests as page images", () => {
        const cfg = parseWith("staging", ["maintenanceMode=true", "readOnlyMode=true", `maintenance.image=nginxinc/nginx-unprivileged@sha256:${"a".repeat(64)}`]);
        assert.equal(cfg.maintenanceMode, true);
        assert.equal(cfg.readOnlyMode, true);
        assert.equal(cfg.maintenance?.image, `nginxinc/nginx-unprivileged@sha256:${"a".repeat(64)}`);
    });
});

describe("operations config: bad input is refused before anything is registered", () => {
    const cases: { what: string; stack?: string; edits?: string[]; replace?: Record<string, unknown>; key: string; says: RegExp }[] = [
        {
            what: "maintenance mode in a stack without a maintenance page image",
            edits: ["maintenanceMode=true"],
            replace: { maintenance: undefined },
            key: "maintenanceMode",
            says: /has none; set maintenance\.image/,
        },
        { what: "a moving maintenance image tag", edits: ["maintenance.image=nginxinc/nginx-unprivileged:latest"], key: "maintenance.image", says: /not immutable/ },
        { what: "a maintenance image without a tag", edits: ["maintenance.image=nginx"], key: "maintenance.image", says: /image reference/ },
        { what: "a negative Retry-After", edits: ["maintenance.retryAfterSeconds=-5"], key: "maintenance.retryAfterSeconds", says: /from 0 to 86400/ },
        { what: "zero maintenance replicas", edits: ["maintenance.replicas=0"], key: "maintenance.replicas", says: /from 1 to 10/ },
        { what: "a typo'd maintenance key", edits: ["maintenance.imgae=nginx:1.27.3"], key: "maintenance.imgae", says: /did you mean "image"/ },
        { what: "maintenanceMode that is not a boolean", edits: ["maintenanceMode=yes please"], key: "maintenanceMode", says: /true or false/ },
        { what: "readOnlyMode that is not a boolean", edits: ["readOnlyMode=on"], key: "readOnlyMode", says: /true or false/ },
        { what: "a migration for an unknown service", replace: { migrations: { "rtpm-apii": { command: ["migrate"] } } }, key: "migrations.rtpm-apii", says: /did you mean "rtpm-api"/ },
        { what: "a migration with an empty command", replace: { migrations: { "rtpm-api": { command: [] } } }, key: "migrations.rtpm-api.command", says: /at least 1/ },
        { what: "a negative backoffLimit", replace: { migrations: { "rtpm-api": { command: ["x"], backoffLimit: -1 } } }, key: "migrations.rtpm-api.backoffLimit", says: /from 0 to 10/ },
        { what: "a too-short migration deadline", replace: { migrations: { "rtpm-api": { command: ["x"], activeDeadlineSeconds: 5 } } }, key: "migrations.rtpm-api.activeDeadlineSeconds", says: /from 60 to 21600/ },
    ];
    for (const c of cases) {
        it(`rejects ${c.what}`, async () => {
            const { message, registered } = await expectRejected(c.stack ?? "staging", c.edits ?? [], c.replace);
            assert.equal(registered, 0);
            const line = message.split("\n").find((l) => l.includes(`- ${c.key}:`));
            assert.ok(line, `no line names ${c.key}:\n${message}`);
            assert.match(line!, c.says);
        });
    }

    it("the registration counter does count (a good config registers resources)", async () => {
        const n = await withRegistrationCount(async (registered) => {
            await renderWith("staging");
            return registered();
        });
        assert.ok(n > 20, `only ${n} registered`);
    });
});

describe("read-only mode (runbook: Database Emergency, `kubectl patch ... READ_ONLY_MODE=true`)", () => {
    let prod: Rendered;
    let ro: Rendered;
    before(async () => {
        prod = await renderStack("production");
        ro = await renderStack("production", ["readOnlyMode=true"]);
    });
    const envOf = (r: Rendered, name: string) =>
        Object.fromEntries(inputs(find(r, DEPLOYMENT, name)).spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));

    it("sets READ_ONLY_MODE=true on both colors of every service (the website too, as the runbook patched it)", () => {
        for (const svc of SERVICES)
            for (const color of ["blue", "green"]) {
                assert.equal(envOf(ro, `${svc}-${color}`).READ_ONLY_MODE, "true", `${svc}-${color}`);
                assert.equal(envOf(prod, `${svc}-${color}`).READ_ONLY_MODE, "false", `${svc}-${color}`);
            }
    });

    it("changes only that env value on the Deployments, nothing else", () => {
        const d = diffRenders(prod, ro);
        assert.deepEqual(d.added, []);
        assert.deepEqual(d.removed, []);
        assert.deepEqual(d.changed.map((c) => c.name).sort(), SERVICES.flatMap((s) => [`${s}-blue`, `${s}-green`]).sort());
        for (const c of d.changed) {
            assert.equal(c.type, DEPLOYMENT);
            assert.equal(c.paths.length, 1, c.paths.join());
            assert.match(c.paths[0], /^spec\.template\.spec\.containers\.0\.env\.\d+\.value$/);
        }
    });

    it("does not depend on the live color: flipping in read-only mode changes only Service selectors", async () => {
        const flipped = await renderStack("production", ["readOnlyMode=true", "activeColor=green"]);
        const d = diffRenders(ro, flipped);
        assert.ok(d.changed.length > 0);
        for (const c of d.changed) {
            assert.equal(c.type, SERVICE);
            assert.deepEqual(c.paths, ["spec.selector.version"]);
        }
    });
});

describe("emergency scale (runbook: `kubectl scale deployment candlefish-website-blue --replicas=6`)", () => {
    it("services.<name>.<color>.replicas=6 changes only that Deployment's spec.replicas", async () => {
        const prod = await renderStack("production");
        const scaled = await renderStack("production", ["services.candlefish-website.blue.replicas=6"]);
        const d = diffRenders(prod, scaled);
        assert.deepEqual(d.added, []);
        assert.deepEqual(d.removed, []);
        assert.deepEqual(brief(d).changed, [{ type: DEPLOYMENT, name: "candlefish-website-blue", paths: ["spec.replicas"] }]);
        assert.equal(inputs(find(scaled, DEPLOYMENT, "candlefish-website-blue")).spec.replicas, 6);
        assert.equal(inputs(find(prod, DEPLOYMENT, "candlefish-website-blue")).spec.replicas, 3);
    });
});
