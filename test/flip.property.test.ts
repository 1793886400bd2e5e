// Property: for every valid config, a color flip changes only Service
// selectors — never a Deployment, never anything stateful, never adds or
// removes a resource. fast-check generates the configs.
import { strict as assert } from "assert";
import fc from "fast-check";
import { SERVICE, diffRenders, find, renderWith } from "./harness";

const GATE = "pulumi-nodejs:dynamic/candlefish:Resource";

const COLORS = ["blue", "green"] as const;
type Color = (typeof COLORS)[number];
const flip = (c: Color): Color => (c === "blue" ? "green" : "blue");

const tag = fc.oneof(
    fc.tuple(fc.nat(9), fc.nat(20), fc.nat(20)).map(([a, b, c]) => `v${a}.${b}.${c}`),
    fc.stringMatching(/^[0-9a-f]{7}$/),
    fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}`),
);
const flags = fc.dictionary(fc.constantFrom("NEW_UI", "BETA_API", "DARK_MODE"), fc.oneof(fc.boolean(), fc.constantFrom("on", "off")), { maxKeys: 2 });
const colorCfg = fc.record({ imageTag: tag, replicas: fc.integer({ min: 0, max: 6 }), featureFlags: flags });
// The website always exists: the domain's Ingress routes to it.
const otherService = fc.constantFrom("rtpm-api", "nanda-api", "otter-gateway", "svc-a", "svc-b");
const service = fc.record(
    { activeColor: fc.constantFrom<Color>("blue", "green"), blue: colorCfg, green: colorCfg },
    { requiredKeys: ["blue", "green"] },
);

const scenario = fc
    .record({
        activeColor: fc.constantFrom<Color>("blue", "green"),
        website: service,
        others: fc.dictionary(otherService, service, { minKeys: 0, maxKeys: 3 }),
    })
    .map(({ activeColor, website, others }) => ({ activeColor, services: { "candlefish-website": website, ...others } }))
    .chain((cfg) =>
        // What to flip: the global color, or one service's override.
        fc.record({ cfg: fc.constant(cfg), target: fc.constantFrom<string | null>(null, ...Object.keys(cfg.services)) }),
    )
    .map(({ cfg, target }) => {
        // A valid config: the live color of every service can serve, before and after the flip.
        const services = structuredClone(cfg.services) as Record<string, any>;
        for (const s of Object.values(services)) {
            for (const c of COLORS) if (s[c].replicas === 0) s[c].replicas = 1;
        }
        return { activeColor: cfg.activeColor, services, target };
    });

const live = (s: any, global: Color): Color => s.activeColor ?? global;

describe("Property: a color flip changes only Service selectors", () => {
    it("holds for generated configs (global flips and per-service overrides)", async function () {
        this.timeout(300_000);
        await fc.assert(
            fc.asyncProperty(scenario, async ({ activeColor, services, target }) => {
                let afterColor = activeColor;
                const afterServices = structuredClone(services);
                if (target === null) afterColor = flip(activeColor);
                else afterServices[target].activeColor = flip(live(services[target], activeColor));

                // svc-a and svc-b are not among the program's own services: the stack declares them.
                const serviceCatalog = { "svc-a": { port: 8080 }, "svc-b": { port: 8080 } };
                const a = await renderWith("staging", [], { activeColor, services, serviceCatalog });
                const b = await renderWith("staging", [], { activeColor: afterColor, services: afterServices, serviceCatalog });
                const d = diffRenders(a, b);

                const moved = Object.keys(services).filter((n) => live(services[n], activeColor) !== live(afterServices[n], afterColor));
                // Gates: exactly the flipping services get a new gate (named for the color they move to)...
                const sortRefs = (r: { type: string; name: string }[]) => r.map(({ type, name }) => ({ type, name })).sort((x, y) => x.name.localeCompare(y.name));
                assert.deepEqual(sortRefs(d.added), sortRefs(moved.map((n) => ({ type: GATE, name: `${n}-gate-${live(afterServices[n], afterColor)}` }))));
                assert.deepEqual(sortRefs(d.removed), sortRefs(moved.map((n) => ({ type: GATE, name: `${n}-gate-${live(services[n], activeColor)}` }))));
                // ...and every live Service that changes waits for the gates of all services flipping in this edit.
                for (const n of moved) {
                    const deps = find(b, SERVICE, `${n}-service`).options.dependsOn;
                    for (const m of moved) assert.ok(deps.includes(`${GATE}::${m}-gate-${live(afterServices[m], afterColor)}`), `${n}-service must wait for ${m}'s gate`);
                }
                // A service pinned by its own override does not move with a global flip: then nothing changes for it.
                assert.deepEqual(
                    d.changed.map((c) => `${c.type}::${c.name}`).sort(),
                    moved.flatMap((n) => [`${SERVICE}::${n}-preview`, `${SERVICE}::${n}-service`]).sort(),
                );
                for (const c of d.changed) assert.deepEqual(c.paths, ["spec.selector.version"]);
            }),
            { numRuns: 12, seed: 20261127, endOnFailure: true },
        );
    });
});

describe("Property: an edit that does not flip changes no gate", () => {
    it("holds for generated inactive-color edits (image tag, replicas, feature flags)", async function () {
        this.timeout(300_000);
        const edit = fc.record({ service: fc.constantFrom("candlefish-website", "rtpm-api", "nanda-api", "otter-gateway"), tag: tag, replicas: fc.integer({ min: 0, max: 5 }), flag: fc.boolean() });
        await fc.assert(
            fc.asyncProperty(edit, async ({ service, tag: t, replicas, flag }) => {
                // Production's live color is blue: every edit here is to green, the inactive one.
                const a = await renderWith("production");
                const b = await renderWith("production", [`services.${service}.green.imageTag=${t}`, `services.${service}.green.replicas=${replicas}`, `services.${service}.green.featureFlags.BETA_API=${flag}`]);
                const d = diffRenders(a, b);
                assert.deepEqual([...d.added, ...d.removed].filter((r) => r.type === GATE), []);
                assert.deepEqual(d.changed.filter((c) => c.type === GATE), []);
                assert.deepEqual(d.changed.filter((c) => c.type === SERVICE), []);
            }),
            { numRuns: 6, seed: 20261130, endOnFailure: true },
        );
    });
});
