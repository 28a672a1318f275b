// Bundle kontor.js, the app shell and the chat page with esbuild into OUT_DIR (argument 1): hashed file
// names plus manifest.json with each file's Subresource Integrity hash.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(process.argv[2] ?? path.join(here, "..", "node", "web_dist"));
// selftest: the known-answer vectors' checks (tests/vectors/*.json), runnable in a page.
// chat, chatstyle: the customer chat page at /chat (web/chat).
const ENTRIES = {
  kontor: "src/kontor.js", app: "app/app.js", style: "app/app.css", selftest: "test/selftest.js",
  chat: "chat/chat.js", chatstyle: "chat/chat.css",
};
// The chat button businesses put on their own websites (served as button.js): a classic
// script, so one self-contained file (no module, no shared chunk).
const BUTTON = { button: "button.js" };

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const result = await build({
  absWorkingDir: here,
  entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, file]) => [name, path.join(here, file)])),
  outdir: out,
  entryNames: "[name]-[hash]",
  chunkNames: "chunk-[hash]",
  splitting: true,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["chrome120", "firefox120", "safari17"],
  minify: true,
  keepNames: true, // error classes keep their names (err.name) when minified
  legalComments: "linked",
  metafile: true,
  logLevel: "warning",
  // libsodium's Emscripten glue names Node modules it loads only under Node.
  external: ["fs", "path", "crypto", "url", "module", "worker_threads"],
});

const button = await build({
  absWorkingDir: here,
  entryPoints: { button: path.join(here, BUTTON.button) },
  outdir: out,
  entryNames: "[name]-[hash]",
  bundle: true,
  format: "iife",
  platform: "browser",
  target: ["chrome120", "firefox120", "safari17"],
  minify: true,
  legalComments: "none",
  metafile: true,
  logLevel: "warning",
});

const manifest = { entries: {}, files: {} };
const outputs = { ...result.metafile.outputs, ...button.metafile.outputs };
for (const [file, meta] of Object.entries(outputs)) {
  const name = path.basename(file);
  const data = readFileSync(path.join(here, file));
  const integrity = "sha384-" + createHash("sha384").update(data).digest("base64");
  const type = name.endsWith(".css") ? "text/css" : name.endsWith(".js") ? "text/javascript" : "text/plain";
  const imports = meta.imports.filter((i) => !i.external).map((i) => path.basename(i.path));
  manifest.files[name] = { integrity, size: data.length, type, imports };
  const entry = Object.entries({ ...ENTRIES, ...BUTTON }).find(([, src]) => meta.entryPoint && path.resolve(here, meta.entryPoint) === path.resolve(here, src));
  if (entry) manifest.entries[entry[0]] = name;
}
// The PWA's icon (drawn here, in the repository) and its web app manifest, hashed like the rest.
const hashed = (name, ext, data, type) => {
  const file = `${name}-${createHash("sha256").update(data).digest("hex").slice(0, 8).toUpperCase()}.${ext}`;
  writeFileSync(path.join(out, file), data);
  manifest.files[file] = { integrity: "sha384-" + createHash("sha384").update(data).digest("base64"), size: data.length, type, imports: [] };
  manifest.entries[name] = file;
  return file;
};
const icon = hashed("icon", "svg", readFileSync(path.join(here, "app", "icon.svg")), "image/svg+xml");
const webManifest = {
  name: "Kontor inbox", short_name: "Kontor", start_url: "/app/", scope: "/app/", display: "standalone",
  background_color: "#ffffff", theme_color: "#2e6fd8",
  icons: [{ src: `/_kontor/web/${icon}`, sizes: "any", type: "image/svg+xml", purpose: "any" }],
};
hashed("webmanifest", "webmanifest", Buffer.from(JSON.stringify(webManifest) + "\n"), "application/manifest+json");
// The customer chat page's icon; its web app manifest is the node's (/chat/manifest.webmanifest,
// named after the business).
hashed("chaticon", "svg", readFileSync(path.join(here, "chat", "icon.svg")), "image/svg+xml");
writeFileSync(path.join(out, "manifest.json"), JSON.stringify(manifest, null, 1) + "\n");
console.log(`built ${readdirSync(out).length - 1} files into ${out}`);
