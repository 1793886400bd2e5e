// The offline evaluator against the real thing: the pack is started the way
// the Pulumi CLI starts a local pack (run-policy-pack + ts-node over
// policies/index.ts -> PolicyPack -> @pulumi/policy's gRPC server), fed the production render the
// way the engine feeds it (analyze per resource, then analyzeStack), and its
// diagnostics must equal the offline report, violation for violation.
import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import * as analyzerrpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzerproto from "@pulumi/pulumi/proto/analyzer_pb";
import { Rendered } from "../plan/render";
import { EngineResource, engineView, evaluatePolicies } from "../plan/policy";
import { PACK_NAME, POLICIES } from "../policies/pack";
import { K8S } from "../policies/lib";
import { renderStack } from "./harness";
import { set } from "./policy-fixtures";

const ROOT = path.resolve(__dirname, "..", "..");

function options(r: EngineResource): analyzerproto.AnalyzerResourceOptions {
    const o = new analyzerproto.AnalyzerResourceOptions();
    o.setProtect(r.protect);
    o.setIgnorechangesList([...r.ignoreChanges]);
    o.setDeletebeforereplace(r.deleteBeforeReplace);
    o.setDeletebeforereplacedefined(true);
    if (r.parent) o.setParent(r.parent);
    return o;
}

function provider(r: EngineResource): analyzerproto.AnalyzerProviderResource | undefined {
    if (!r.provider) return undefined;
    const p = new analyzerproto.AnalyzerProviderResource();
    p.setType(r.provider.type);
    p.setName(r.provider.name);
    p.setUrn(r.provider.urn);
    p.setProperties(Struct.fromJavaScript(r.provider.props as any));
    return p;
}

type Diag = { policy: string; level: string; urn: string; message: string };

const LEVELS: Record<number, string> = { 0: "advisory", 1: "mandatory", 2: "disabled", 3: "remediate" };

function diags(resp: analyzerproto.AnalyzeResponse, fallbackUrn: string): Diag[] {
    return resp.getDiagnosticsList().map((d) => ({ policy: d.getPolicyname(), level: LEVELS[d.getEnforcementlevel()], urn: d.getUrn() || fallbackUrn, message: d.getMessage() }));
}

describe("offline evaluator == the pack served by @pulumi/policy's analyzer", function () {
    this.timeout(120000);
    let child: ChildProcess;
    let client: analyzerrpc.AnalyzerClient;
    let prod: Rendered;

    before(async () => {
        prod = await renderStack("production");
        // As `pulumi preview --policy-pack policies` runs it: @pulumi/pulumi's run-policy-pack in the pack
        // directory, which registers ts-node (type-checked) and requires package.json's main, index.ts.
        // (The engine address is only used for logging; the server prints its port on stdout.)
        const runner = path.join(ROOT, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack");
        child = spawn(process.execPath, [runner, "127.0.0.1:1", "."], { cwd: path.join(ROOT, "policies"), stdio: ["ignore", "pipe", "pipe"] });
        let stderr = "";
        child.stderr!.on("data", (d) => (stderr += d));
        const port = await new Promise<number>((resolve, reject) => {
            child.stdout!.once("data", (d) => resolve(Number(String(d).trim())));
            child.once("exit", (code) => reject(new Error(`pack exited ${code}: ${stderr}`)));
        });
        assert.ok(port > 0);
        client = new analyzerrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    });

    after(() => {
        client?.close();
        child?.kill();
    });

    const call = <Req, Res>(fn: (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => void, req: Req) =>
        new Promise<Res>((resolve, reject) => fn.call(client, req, (err, res) => (err ? reject(err) : resolve(res))));

    async function analyzeLikeTheEngine(rendered: Rendered): Promise<Diag[]> {
        const view = engineView(rendered);
        const out: Diag[] = [];
        for (const r of view) {
            if (r.read) continue;
            const req = new analyzerproto.AnalyzeRequest();
            req.setType(r.type);
            req.setName(r.name);
            req.setUrn(r.urn);
            req.setProperties(Struct.fromJavaScript(r.props as any));
            req.setOptions(options(r));
            const p = provider(r);
            if (p) req.setProvider(p);
            out.push(...diags(await call(client.analyze, req), r.urn));
        }
        const stack = new analyzerproto.AnalyzeStackRequest();
        stack.setResourcesList(
            view.map((r) => {
                const a = new analyzerproto.AnalyzerResource();
                a.setType(r.type);
                a.setName(r.name);
                a.setUrn(r.urn);
                a.setProperties(Struct.fromJavaScript(r.props as any));
                a.setOptions(options(r));
                const p = provider(r);
                if (p) a.setProvider(p);
                if (r.parent) a.setParent(r.parent);
                a.setDependenciesList([...r.dependencies]);
                for (const [k, urns] of Object.entries(r.propertyDependencies)) a.getPropertydependenciesMap().set(k, new analyzerproto.AnalyzerPropertyDependencies().setUrnsList([...urns]));
                return a;
            }),
        );
        out.push(...diags(await call(client.analyzeStack, stack), ""));
        return out;
    }

    async function compare(rendered: Rendered): Promise<Diag[]> {
        const served = await analyzeLikeTheEngine(rendered);
        const offline = await evaluatePolicies(rendered);
        const urnOf = (type: string, name: string) => rendered.resources.find((r) => r.type === type && r.name === name)?.urn ?? "";
        const key = (d: { policy: string; level: string; urn: string }) => `${d.policy} ${d.level} ${d.urn}`;
        assert.deepEqual(
            offline.violations.map((v) => key({ ...v, urn: urnOf(v.type, v.name) })).sort(),
            served.map(key).sort(),
        );
        // The runtime prefixes the policy description; the offline message is the part after it.
        for (const v of offline.violations) {
            const d = served.find((s) => s.policy === v.policy && s.urn === urnOf(v.type, v.name) && s.message.endsWith(`\n${v.message}`));
            assert.ok(d, `served diagnostic for ${v.policy} on ${v.name} ends with the offline message`);
        }
        return served;
    }

    it("serves the same policies, with the same levels, as the offline evaluator evaluates", async () => {
        const info = await call<Empty, analyzerproto.AnalyzerInfo>(client.getAnalyzerInfo, new Empty());
        assert.equal(info.getName(), PACK_NAME);
        const served = info.getPoliciesList().map((p) => [p.getName(), LEVELS[p.getEnforcementlevel()]]);
        assert.deepEqual(served, POLICIES.map((p) => [p.name, p.enforcementLevel]));
    });

    it("the production render: identical diagnostics (advisories only)", async () => {
        const served = await compare(prod);
        assert.deepEqual(served.filter((d) => d.level === "mandatory"), []);
    });

    it("an insecure production (public DB, IMDSv1, switch to a missing color, no NetworkPolicy): identical diagnostics", async () => {
        const resources = prod.resources
            .filter((r) => r.type !== K8S.NetworkPolicy)
            .map((r) => {
                if (r.type === "aws:rds/instance:Instance") return set(r, "publiclyAccessible", true);
                if (r.type === "aws:ec2/launchTemplate:LaunchTemplate") return set(r, "metadataOptions.httpTokens", "optional");
                if (r.type === K8S.Service && r.name === "nanda-api-service") return set(r, "spec.selector.version", "purple");
                return r;
            });
        const served = await compare({ ...prod, resources });
        assert.deepEqual(
            [...new Set(served.filter((d) => d.level === "mandatory").map((d) => d.policy))].sort(),
            ["bluegreen-live-service-selects-ready-color", "ec2-imdsv2-required", "k8s-namespace-default-deny", "k8s-namespace-network-policy", "rds-not-publicly-accessible"],
        );
    });
});
