// The extraction behind test/real-cli.test.ts: which `pulumi config` commands
// a markdown file shows, split the way a shell would run them.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { DOC_FILES, NOT_RUN, docCommands, extractFromMarkdown, shellWords, substitute } from "./doc-commands";
import { ROOT } from "../plan/stackfile";

describe("docs' pulumi config commands: extraction", () => {
    it("splits words like a shell: quotes, backslashes, no expansion", () => {
        assert.deepEqual(shellWords(`pulumi config set --path maintenance.message "Back at 02:00 UTC."`), ["pulumi", "config", "set", "--path", "maintenance.message", "Back at 02:00 UTC."]);
        assert.deepEqual(shellWords(`a 'b c' d\\ e "f \\"g\\""`), ["a", "b c", "d e", 'f "g"']);
        assert.deepEqual(shellWords(`x ''`), ["x", ""]);
        assert.throws(() => shellWords(`a "b`), /unterminated "/);
    });

    it("finds commands in fenced blocks and in code spans, cut at &&, ;, | and comments", () => {
        const md = [
            "Set it: `pulumi config set activeColor green && pulumi up`, or",
            "```bash",
            "pulumi stack select production",
            "pulumi config set --secret --path alerts.slackWebhookUrl https://hooks.slack.com/services/<team-id>/<hook-id>/<token>   # required",
            "  pulumi config get activeColor; echo done",
            "```",
            "| a | `pulumi config set --path services.<svc>.blue.replicas 0 --stack production` + `pulumi up` |",
            "Every change is a `pulumi config set --path` edit, secrets `pulumi config set --secret --path ...`.",
            "`kubectl get pods` is not one; neither is pulumi config set outside code.",
        ].join("\n");
        const { commands, mentions } = extractFromMarkdown("X.md", md);
        assert.deepEqual(
            commands.map((c) => [c.where, c.verb, c.key, c.value, c.path, c.secret, c.stack]),
            [
                ["X.md:1", "set", "activeColor", "green", false, false, undefined],
                ["X.md:4", "set", "alerts.slackWebhookUrl", "https://hooks.slack.com/services/<team-id>/<hook-id>/<token>", true, true, undefined],
                ["X.md:5", "get", "activeColor", undefined, false, false, undefined],
                ["X.md:7", "set", "services.<svc>.blue.replicas", "0", true, false, "production"],
            ],
        );
        assert.equal(commands[1].text, "pulumi config set --secret --path alerts.slackWebhookUrl https://hooks.slack.com/services/<team-id>/<hook-id>/<token>");
        assert.deepEqual(mentions, [
            { where: "X.md:8", text: "pulumi config set --path" },
            { where: "X.md:8", text: "pulumi config set --secret --path ..." },
        ]);
    });

    it("refuses a flag it does not understand rather than guessing", () => {
        assert.throws(() => extractFromMarkdown("X.md", "`pulumi config set --frobnicate a b`"), /X\.md:1: .*flag --frobnicate/);
    });

    it("substitutes angle-bracket placeholders, and names one without a sample", () => {
        assert.equal(substitute("services.<svc>.<color>.imageTag", { "<svc>": "rtpm-api", "<color>": "green" }, "X.md:1"), "services.rtpm-api.green.imageTag");
        assert.throws(() => substitute("services.<svc>.x", {}, "X.md:3"), /X\.md:3: placeholder <svc> has no sample value/);
    });

    it("every docs page that shows a pulumi config command is run (DOC_FILES) or says why not (NOT_RUN)", () => {
        const pages = fs.readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`);
        for (const f of [...DOC_FILES, ...Object.keys(NOT_RUN)]) assert.ok(f === "README.md" || pages.includes(f), `${f} does not exist`);
        for (const f of Object.keys(NOT_RUN)) assert.ok(!DOC_FILES.includes(f), `${f} is both run and not run`);
        for (const f of pages) {
            const { commands } = extractFromMarkdown(f, fs.readFileSync(path.join(ROOT, f), "utf8"));
            if (commands.length) assert.ok(DOC_FILES.includes(f) || f in NOT_RUN, `${f} shows ${commands.length} pulumi config command(s): add it to DOC_FILES (test/doc-commands.ts) or to NOT_RUN with the reason`);
        }
    });

    it("README.md and docs/RUNBOOK.md: each distinct command once, with every place it is shown", () => {
        const { commands } = docCommands(ROOT);
        const flip = commands.find((c) => c.key === "activeColor" && c.value === "green" && c.stack === undefined);
        assert.ok(flip && flip.where.startsWith("README.md:"), "the README's switch command");
        assert.ok(commands.some((c) => c.verb === "get"), "a pulumi config get");
        assert.ok(commands.some((c) => c.secret), "a --secret command");
        const seen = new Set(commands.map((c) => JSON.stringify([c.verb, c.key, c.value, c.path, c.secret, c.stack ?? "production"])));
        assert.equal(seen.size, commands.length, "no command twice");
        const rollback = commands.find((c) => c.key === "activeColor" && c.value === "blue")!;
        assert.ok(rollback.also.some((w) => w.startsWith("docs/RUNBOOK.md:")), "the runbook's `--stack production` rollback is the README's rollback");
    });
});
