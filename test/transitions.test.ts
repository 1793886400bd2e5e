// Transition rules (config/transitions.ts), read like the runbook: what one
// edit may do to a service whose traffic is on one color. Each refusal names
// its key and registers nothing; the legal sequence (deploy the inactive
// color, flip, bake, scale the old color down) is accepted step by step.
import { strict as assert } from "assert";
import { Rendered, render } from "../plan/render";
import { ConfigError } from "../config";
import { checkTransitions, parsePromotionState, promotionState } from "../config/transitions";
import { SERVICES, parseWith, stackConfig, withRegistrationCount } from "./harness";

/** Renders production with `edits`, as `pulumi up` would after `previous` was deployed. */
async function up(edits: readonly string[], previous?: Rendered): Promise<Rendered> {
    const { config, secretKeys } = stackConfig("production", edits);
    return render({ stack: "production", config, secretKeys, previousOutputs: previous && { promotionState: previous.outputs.promotionState } });
}

/** The ConfigError an edit gets after `previous`, and how many resources it registered. */
async function refused(edits: readonly string[], previous: Rendered): Promise<{ message: string; registered: number }> {
    return withRegistrationCount(async (registered) => {
        try {
            await up(edits, previous);
        } catch (e) {
            assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${(e as Error).stack}`);
            return { message: e.message, registered: registered() };
        }
        return assert.fail(`expected ${edits.join(" ")} to be refused`);
    });
}

describe("Transition rules: what one edit may do to the live color", () => {
    let deployed: Rendered;
    before(async () => {
        deployed = await up([]);
    });

    it("the stack exports the promotion state the next edit is judged against", () => {
        const st = deployed.outputs.promotionState as any;
        assert.deepEqual(Object.keys(st).sort(), [...SERVICES].sort());
        assert.equal(st["rtpm-api"].live, "blue");
        assert.deepEqual([st["rtpm-api"].colors.blue.imageTag, st["rtpm-api"].colors.blue.replicas], ["v2.4.1", 3]);
        assert.deepEqual(parsePromotionState(st), st);
    });

    it("refuses a flip together with scaling the previously live color down, and registers nothing", async () => {
        const r = await refused(["activeColor=green", "services.rtpm-api.blue.replicas=0"], deployed);
        // The one registration is the read of the stack's own outputs (a StackReference): it changes nothing.
        assert.equal(r.registered, 1);
        assert.match(r.message, /services\.rtpm-api\.blue\.replicas: scales blue \(3 -> 0\) in the same change that moves traffic off it \(blue -> green\)/);
        assert.match(r.message, /Flip first, let green bake, then scale blue down in a change of its own/);
    });

    it("refuses an image change of the color that stays live (blue/green bypassed), naming the key and the way out", async () => {
        const r = await refused(["services.rtpm-api.blue.imageTag=v2.5.0"], deployed);
        assert.equal(r.registered, 1);
        assert.match(r.message, /services\.rtpm-api\.blue\.imageTag: changes the live color blue in place \(services\.rtpm-api\.blue\.imageTag v2\.4\.1 -> v2\.5\.0\)/);
        assert.match(r.message, /Deploy the change to green \(the inactive color\), test it on rtpm-api-preview, then flip; for an emergency hotfix set services\.rtpm-api\.allowLiveChange=true/);
    });

    it("refuses feature-flag and env changes of the live color too", async () => {
        assert.match((await refused(["services.nanda-api.blue.featureFlags.NEW_UI=true"], deployed)).message, /services\.nanda-api\.blue\.featureFlags: changes the live color blue in place/);
        assert.match((await refused(["services.nanda-api.env.LOG_LEVEL=debug"], deployed)).message, /services\.nanda-api\.env: changes the live color blue in place \(services\.nanda-api\.env \(both colors, the live one included\)\)/);
    });

    it("allows a live change with services.<name>.allowLiveChange (an emergency hotfix), as a warning", async () => {
        const r = await up(["services.rtpm-api.blue.imageTag=v2.4.2", "services.rtpm-api.allowLiveChange=true"], deployed);
        assert.equal((r.outputs.promotionState as any)["rtpm-api"].colors.blue.imageTag, "v2.4.2");
        const f = checkTransitions(parsePromotionState(deployed.outputs.promotionState), parseWith("production", ["services.rtpm-api.blue.imageTag=v2.4.2", "services.rtpm-api.allowLiveChange=true"]).services);
        assert.deepEqual(f.map((x) => [x.level, x.key]), [["warning", "services.rtpm-api.allowLiveChange"]]);
    });

    it("refuses making a color live with fewer replicas than the one it replaces, unless confirmed", async () => {
        const r = await refused(["services.otter-gateway.green.replicas=1", "services.otter-gateway.activeColor=green"], deployed);
        assert.match(r.message, /services\.otter-gateway\.green\.replicas: makes green live with 1 replicas where blue served with \d+: scale green to \d+ first, or confirm with services\.otter-gateway\.allowFewerReplicas=true/);
        const ok = await up(["services.otter-gateway.green.replicas=1", "services.otter-gateway.activeColor=green", "services.otter-gateway.allowFewerReplicas=true"], deployed);
        assert.equal((ok.outputs.promotionState as any)["otter-gateway"].live, "green");
    });

    it("refuses a flip to a color whose image changes in the same edit: it would take traffic untested", async () => {
        const r = await refused(["activeColor=green", "services.rtpm-api.green.imageTag=v2.6.0"], deployed);
        assert.match(r.message, /services\.rtpm-api\.green\.imageTag: changes green \(services\.rtpm-api\.green\.imageTag v2\.4\.0 -> v2\.6\.0\) in the same change that makes it live/);
    });

    it("refuses removing a deployed service in a blue/green edit", async () => {
        const { config } = stackConfig("production", []);
        const services = JSON.parse(config["candlefish-maturity-map:services"]);
        delete services["otter-gateway"];
        const f = checkTransitions(parsePromotionState(deployed.outputs.promotionState), parseWith("production", [], { services }).services);
        assert.deepEqual(f.map((x) => [x.level, x.key]), [["error", "services.otter-gateway"]]);
    });

    it("accepts the legal sequence step by step: deploy green, flip, bake, scale blue down, and the rollback to a warm blue", async () => {
        const s1 = await up(["services.rtpm-api.green.imageTag=v2.5.0"], deployed); // deploy the inactive color
        const s2 = await up(["services.rtpm-api.green.imageTag=v2.5.0", "activeColor=green"], s1); // flip
        const s3 = await up(["services.rtpm-api.green.imageTag=v2.5.0", "activeColor=green", "services.rtpm-api.blue.replicas=0"], s2); // scale the old color down
        assert.equal((s3.outputs.promotionState as any)["rtpm-api"].live, "green");
        // Rolling back needs blue warm again: the rule refuses a flip to fewer replicas...
        assert.match((await refused(["services.rtpm-api.green.imageTag=v2.5.0", "services.rtpm-api.blue.replicas=0"], s3)).message, /services\.rtpm-api\.blue\.replicas: makes blue live with 0 replicas|blue is the live color/);
        // ...while the rollback from s2 (blue still warm) is one edit.
        const back = await up(["services.rtpm-api.green.imageTag=v2.5.0"], s2);
        assert.equal((back.outputs.promotionState as any)["rtpm-api"].live, "blue");
    });

    it("a first deploy (no earlier state) and an unrecognisable earlier state judge nothing", () => {
        const svc = parseWith("production", ["activeColor=green", "services.rtpm-api.blue.replicas=0"]).services;
        assert.deepEqual(checkTransitions(undefined, svc), []);
        assert.equal(parsePromotionState({ "rtpm-api": { live: "purple" } }), undefined);
        assert.equal(parsePromotionState("nonsense"), undefined);
    });

    it("is deterministic: the same config gives the same state", () => {
        const a = promotionState(parseWith("production").services);
        const b = promotionState(parseWith("production").services);
        assert.deepEqual(a, b);
    });
});
