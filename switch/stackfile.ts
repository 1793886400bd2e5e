// The stack file as `npm run switch` reads and writes it: the colors (the
// global `activeColor` and each `services.<name>.activeColor` override), edited
// in place with the `yaml` package's Document API so every comment, key order
// and secure value stays as it was, and written atomically: a temp file in the
// same directory, fsync, rename over the original, fsync of the directory. A
// crash or a failed write leaves either the old file or the new one, never a
// half-written one. (The Pulumi CLI's own `pulumi config set` writes the stack
// file with os.WriteFile, i.e. truncate-then-write in place: pulumi v3.248.0,
// sdk/go/common/workspace/project.go, func save, lines 1358-1379.)
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { didYouMean } from "../config/schema";

export type Color = "blue" | "green";
export const COLORS: readonly Color[] = ["blue", "green"];
export const isColor = (v: unknown): v is Color => v === "blue" || v === "green";
export const otherColor = (c: Color): Color => (c === "blue" ? "green" : "blue");

/** The colors a stack file says. */
export interface StackColors {
    /** `activeColor`, if set. */
    readonly global?: Color;
    /** `services.<name>.activeColor` per service (undefined: no override). */
    readonly overrides: Readonly<Record<string, Color | undefined>>;
    /** Every service in `services`, in file order. */
    readonly services: readonly string[];
}

/** The color each service's live Service selects according to the file. */
export function effectiveColors(c: StackColors): Record<string, Color> {
    const out: Record<string, Color> = {};
    for (const s of c.services) out[s] = c.overrides[s] ?? c.global ?? "blue";
    return out;
}

/** An edit of the colors: a value sets the key, null removes it, an absent entry leaves it alone. */
export interface ColorEdit {
    readonly global?: Color | null;
    readonly overrides?: Readonly<Record<string, Color | null>>;
}

/** What the stack file holds that the switch needs. */
export interface StackFileView extends StackColors {
    readonly project: string;
    /** Top-level project keys as the Pulumi runtime hands them to the program: scalars as text, objects as JSON. */
    readonly raw: Readonly<Record<string, string>>;
    /** Plain keys of other namespaces (`aws:region`), full keys, as text; `secure:` values are left out. */
    readonly foreign: Readonly<Record<string, string>>;
}

export class StackFileError extends Error {}

/** The project name from Pulumi.yaml in dir. */
export function projectName(dir: string): string {
    const file = path.join(dir, "Pulumi.yaml");
    const doc = YAML.parse(fs.readFileSync(file, "utf8"));
    if (!doc || typeof doc.name !== "string") throw new StackFileError(`${file} has no project name`);
    return doc.name;
}

/** `org/production` or `production` -> `production` (the stack file is named after the last part). */
export const shortStackName = (stack: string) => stack.split("/").pop() ?? stack;

export function stackFilePath(dir: string, stack: string): string {
    return path.join(dir, `Pulumi.${shortStackName(stack)}.yaml`);
}

/** The project directory: the working directory when it holds Pulumi.yaml, else this checkout's root. */
export function projectDir(cwd = process.cwd()): string {
    if (fs.existsSync(path.join(cwd, "Pulumi.yaml"))) return cwd;
    for (let d = __dirname; ; d = path.dirname(d)) {
        if (fs.existsSync(path.join(d, "Pulumi.yaml"))) return d;
        if (path.dirname(d) === d) throw new Error(`no Pulumi.yaml in ${cwd} or above ${__dirname}`);
    }
}

/** Stack names that have a stack file in dir. */
export function stacksIn(dir: string): string[] {
    return fs
        .readdirSync(dir)
        .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
        .filter((s): s is string => Boolean(s))
        .sort();
}

/** Reads the colors (and the raw project keys) out of stack file text. */
export function parseStackFile(text: string, project: string, file = "stack file"): StackFileView {
    const doc = YAML.parseDocument(text);
    if (doc.errors.length) throw new StackFileError(`${file} is not valid YAML: ${doc.errors[0].message}`);
    const js = (doc.toJS() ?? {}) as { config?: Record<string, unknown> };
    const config = js.config ?? {};
    const prefix = `${project}:`;
    const raw: Record<string, string> = {};
    const foreign: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) {
        if (!k.startsWith(prefix)) {
            if (v !== null && typeof v !== "object") foreign[k] = String(v);
            continue;
        }
        raw[k.slice(prefix.length)] = v !== null && typeof v === "object" ? JSON.stringify(v) : String(v);
    }
    const global = config[`${prefix}activeColor`];
    if (global !== undefined && !isColor(global)) throw new StackFileError(`${file}: ${prefix}activeColor is ${JSON.stringify(global)}; expected blue or green`);
    const services = config[`${prefix}services`];
    if (!services || typeof services !== "object") throw new StackFileError(`${file} has no ${prefix}services`);
    const overrides: Record<string, Color | undefined> = {};
    for (const [name, svc] of Object.entries(services as Record<string, any>)) {
        const c = svc?.activeColor;
        if (c !== undefined && !isColor(c)) throw new StackFileError(`${file}: services.${name}.activeColor is ${JSON.stringify(c)}; expected blue or green`);
        overrides[name] = c;
    }
    return { project, raw, foreign, global: global as Color | undefined, overrides, services: Object.keys(services) };
}

/** The stack file text with the edit applied; nothing else in the text changes. */
export function applyColorEdit(text: string, project: string, edit: ColorEdit): string {
    const doc = YAML.parseDocument(text);
    if (doc.errors.length) throw new StackFileError(`not valid YAML: ${doc.errors[0].message}`);
    const prefix = `${project}:`;
    if (edit.global !== undefined) {
        if (edit.global === null) doc.deleteIn(["config", `${prefix}activeColor`]);
        else doc.setIn(["config", `${prefix}activeColor`], edit.global);
    }
    for (const [svc, c] of Object.entries(edit.overrides ?? {})) {
        const at = ["config", `${prefix}services`, svc];
        if (!doc.hasIn(at)) throw new StackFileError(`no service ${svc} in ${prefix}services`);
        if (c === null) doc.deleteIn([...at, "activeColor"]);
        else doc.setIn([...at, "activeColor"], c);
    }
    return doc.toString({ lineWidth: 0 });
}

/** The file-system calls the atomic write makes (a test injects failures). */
export interface WriteFs {
    openSync(p: string, flags: string, mode?: number): number;
    writeSync(fd: number, buffer: Buffer, offset: number, length: number): number;
    fsyncSync(fd: number): void;
    closeSync(fd: number): void;
    renameSync(from: string, to: string): void;
    rmSync(p: string, opts: { force: boolean }): void;
    statSync(p: string): { mode: number };
}

/**
 * Replaces file with text atomically: temp file beside it (same directory, so
 * the rename never crosses a file system), written and fsynced, renamed over
 * the original, then the directory fsynced so the rename itself is durable.
 * On any failure the temp file is removed and the original is untouched.
 */
export function writeFileAtomic(file: string, text: string, wfs: WriteFs = fs as unknown as WriteFs): void {
    const dir = path.dirname(file);
    const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now().toString(36)}.tmp`);
    let mode = 0o644;
    try {
        mode = wfs.statSync(file).mode & 0o777;
    } catch {
        // a new file
    }
    try {
        const fd = wfs.openSync(tmp, "wx", mode);
        try {
            const buf = Buffer.from(text, "utf8");
            // A write may take less than all of it; loop until it is all there.
            for (let written = 0; written < buf.length; ) written += wfs.writeSync(fd, buf, written, buf.length - written);
            wfs.fsyncSync(fd);
        } finally {
            wfs.closeSync(fd);
        }
        wfs.renameSync(tmp, file);
    } catch (e) {
        try {
            wfs.rmSync(tmp, { force: true });
        } catch {
            // nothing more to do
        }
        throw e;
    }
    try {
        const dfd = wfs.openSync(dir, "r");
        try {
            wfs.fsyncSync(dfd);
        } finally {
            wfs.closeSync(dfd);
        }
    } catch {
        // some file systems refuse fsync on a directory; the rename has happened
    }
}

/** The stack file of one stack in a project directory. */
export class StackFile {
    readonly file: string;
    readonly project: string;

    constructor(
        readonly dir: string,
        readonly stack: string,
        private readonly wfs: WriteFs = fs as unknown as WriteFs,
    ) {
        this.file = stackFilePath(dir, stack);
        this.project = projectName(dir);
    }

    read(): StackFileView {
        let text: string;
        try {
            text = fs.readFileSync(this.file, "utf8");
        } catch (e) {
            throw new StackFileError(`cannot read ${this.file}: ${(e as Error).message}`);
        }
        return parseStackFile(text, this.project, path.basename(this.file));
    }

    /** Applies the edit and writes the file atomically; throws (file untouched) on any failure. */
    write(edit: ColorEdit): void {
        const text = fs.readFileSync(this.file, "utf8");
        writeFileAtomic(this.file, applyColorEdit(text, this.project, edit), this.wfs);
    }
}

/** The stack file `--stack` names, read; a StackFileError names the flag (with a did-you-mean) or the file's problem. */
export function openStackFile(dir: string, stack: string): { file: StackFile; view: StackFileView } {
    const short = shortStackName(stack);
    if (!fs.existsSync(stackFilePath(dir, stack))) {
        const stacks = stacksIn(dir);
        const hint = didYouMean(short, stacks);
        throw new StackFileError(`--stack ${stack}: no stack file Pulumi.${short}.yaml in ${dir}${hint ? `; did you mean ${hint}?` : ""} (stacks: ${stacks.join(", ")})`);
    }
    const file = new StackFile(dir, stack);
    return { file, view: file.read() };
}
