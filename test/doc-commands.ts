// The `pulumi config set ...` / `pulumi config get ...` commands the docs show,
// parsed out of the markdown (fenced code blocks and inline code spans), so a
// command added to one of DOC_FILES is run by
// test/real-cli.test.ts without anyone listing it.
import * as fs from "fs";
import * as path from "path";

export interface DocCommand {
    /** Where it is shown: "README.md:21" (first place; `also` holds the rest). */
    readonly where: string;
    readonly also: string[];
    /** The command as the docs write it, from `pulumi config` up to `&&`, `;`, `|` or a `#` comment. */
    readonly text: string;
    /** Shell words, quotes removed. */
    readonly argv: string[];
    readonly verb: "set" | "get";
    readonly key: string;
    /** `set`'s value (undefined for `get`). */
    readonly value: string | undefined;
    readonly path: boolean;
    readonly secret: boolean;
    /** `--stack` / `-s`, when given. */
    readonly stack: string | undefined;
}

/** A `pulumi config set`/`get` written without a key (or with `...` for it): a mention in prose, not a command. */
export interface DocMention {
    readonly where: string;
    readonly text: string;
}

/** Splits a command line into words the way a POSIX shell would (quotes, backslashes); no expansions. */
export function shellWords(line: string): string[] {
    const words: string[] = [];
    let cur = "";
    let inWord = false;
    for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (c === "'") {
            const end = line.indexOf("'", i + 1);
            if (end < 0) throw new Error(`unterminated ' in: ${line}`);
            cur += line.slice(i + 1, end);
            i = end;
            inWord = true;
        } else if (c === '"') {
            let j = i + 1;
            for (; j < line.length && line[j] !== '"'; j++) {
                if (line[j] === "\\" && j + 1 < line.length && '"\\$`'.includes(line[j + 1])) j++;
                cur += line[j];
            }
            if (j >= line.length) throw new Error(`unterminated " in: ${line}`);
            i = j;
            inWord = true;
        } else if (c === "\\" && i + 1 < line.length) {
            cur += line[++i];
            inWord = true;
        } else if (/\s/.test(c)) {
            if (inWord) words.push(cur);
            cur = "";
            inWord = false;
        } else {
            cur += c;
            inWord = true;
        }
    }
    if (inWord) words.push(cur);
    return words;
}

/** The command from `pulumi config` to the end of that shell command (`&&`, `||`, `;`, `|`, or a comment). */
function cutCommand(code: string): string | undefined {
    const start = code.search(/\bpulumi config (set|get)\b/);
    if (start < 0) return undefined;
    let s = code.slice(start);
    let quote: string | undefined;
    for (let i = 0; i < s.length; i++) {
        const c = s[i];
        if (quote) {
            if (c === quote) quote = undefined;
            else if (c === "\\" && quote === '"') i++;
            continue;
        }
        if (c === "'" || c === '"') quote = c;
        else if (c === "\\") i++;
        else if (c === ";" || c === "|" || (c === "&" && s[i + 1] === "&") || (c === "#" && (i === 0 || /\s/.test(s[i - 1])))) {
            s = s.slice(0, i);
            break;
        }
    }
    return s.trim();
}

const FLAGS_WITH_VALUE = new Set(["--stack", "-s", "--config-file", "--cwd", "-C"]);

/** Every `pulumi config set|get` in the code of one markdown file. */
export function extractFromMarkdown(file: string, text: string): { commands: DocCommand[]; mentions: DocMention[] } {
    const commands: DocCommand[] = [];
    const mentions: DocMention[] = [];
    const codes: { line: number; code: string }[] = [];
    let fence: string | undefined;
    text.split("\n").forEach((line, i) => {
        const f = /^\s*(```+|~~~+)/.exec(line);
        if (f) {
            if (fence === undefined) fence = f[1];
            else if (f[1].startsWith(fence[0]) && f[1].length >= fence.length) fence = undefined;
            return;
        }
        if (fence !== undefined) codes.push({ line: i + 1, code: line });
        else for (const m of line.matchAll(/(`+)(.+?)\1/g)) codes.push({ line: i + 1, code: m[2] });
    });
    for (const { line, code } of codes) {
        // A code span or line may hold several commands (`a && b`); take each.
        let rest = code;
        for (let cmd = cutCommand(rest); cmd !== undefined; cmd = cutCommand(rest)) {
            rest = rest.slice(rest.indexOf(cmd) + cmd.length);
            const where = `${file}:${line}`;
            const argv = shellWords(cmd);
            const positional: string[] = [];
            let stack: string | undefined;
            let pathFlag = false;
            let secret = false;
            for (let i = 3; i < argv.length; i++) {
                const a = argv[i];
                if (a === "--path") pathFlag = true;
                else if (a === "--secret") secret = true;
                else if (a === "--plaintext") secret = false;
                else if (FLAGS_WITH_VALUE.has(a)) {
                    if (a === "--stack" || a === "-s") stack = argv[i + 1];
                    i++;
                } else if (a.startsWith("--stack=")) stack = a.slice("--stack=".length);
                else if (a.startsWith("-")) throw new Error(`${where}: \`${cmd}\`: flag ${a} is not understood by the docs' command test; teach test/doc-commands.ts`);
                else positional.push(a);
            }
            // No key, or an elided one (`--path ...`): the command is mentioned, not shown.
            if (positional.length === 0 || /^(\.\.\.|…)$/.test(positional[0])) {
                mentions.push({ where, text: cmd });
                continue;
            }
            const verb = argv[2] as "set" | "get";
            commands.push({ where, also: [], text: cmd, argv, verb, key: positional[0], value: verb === "set" ? positional[1] : undefined, path: pathFlag, secret, stack });
        }
    }
    return { commands, mentions };
}

/** The docs whose `pulumi config` commands test/real-cli.test.ts runs literally. */
export const DOC_FILES = [
    "README.md",
    "docs/BLUE-GREEN.md",
    "docs/RUNBOOK.md",
    "docs/FIRST-DEPLOY.md",
    "docs/DATABASE.md",
    "docs/LOCAL.md",
    "docs/PLATFORM.md",
    "docs/CONFIGURATION.md",
    "docs/POLICIES.md",
    "docs/PROMOTION.md",
    "docs/SWITCH.md",
];

/**
 * Docs pages whose `pulumi config` commands are not run, and why. Every other
 * markdown page under docs/ that shows one must be in DOC_FILES
 * (test/doc-commands.test.ts), so a page added later is not silently untested.
 */
export const NOT_RUN: Readonly<Record<string, string>> = {
    "docs/AWS.md": "decision records whose commands carry placeholders with spaces (`<SES SMTP user name>`, `<your address>/32`), which this test cannot substitute",
    "docs/PLAN.md": "allowReplacement is read by the offline plan only; test/plan-review.test.ts covers it through the plan",
    "docs/TESTING.md": "describes what the e2e runs (`pulumi config set activeColor <color>`), not a command to copy",
};

/**
 * The commands of DOC_FILES, each distinct command once (in
 * order of first appearance; a command without --stack acts on production, the
 * stack the README selects).
 */
export function docCommands(root: string, files = DOC_FILES): { commands: DocCommand[]; mentions: DocMention[] } {
    const byText = new Map<string, DocCommand>();
    const mentions: DocMention[] = [];
    for (const f of files) {
        const r = extractFromMarkdown(f, fs.readFileSync(path.join(root, f), "utf8"));
        mentions.push(...r.mentions);
        for (const c of r.commands) {
            // `--stack production` on a command shown elsewhere without it (production selected) is the same command.
            const norm = JSON.stringify([c.verb, c.key, c.value, c.path, c.secret, c.stack ?? "production"]);
            const seen = byText.get(norm);
            if (seen) seen.also.push(c.where);
            else byText.set(norm, c);
        }
    }
    return { commands: [...byText.values()], mentions };
}

/** Angle-bracket placeholders (`<svc>`) in a string. */
export function placeholders(s: string): string[] {
    return [...s.matchAll(/<[^<>\s]+>/g)].map((m) => m[0]);
}

/** Replaces each `<placeholder>` by its sample; throws naming any placeholder without one. */
export function substitute(s: string, samples: Readonly<Record<string, string>>, where: string): string {
    return s.replace(/<[^<>\s]+>/g, (p) => {
        const v = samples[p];
        if (v === undefined) throw new Error(`${where}: placeholder ${p} has no sample value; add one to SAMPLES in test/real-cli.test.ts`);
        return v;
    });
}
