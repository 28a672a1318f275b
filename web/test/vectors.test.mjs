// node --test: kontor.js against every vector file in tests/vectors/.
import { test } from "node:test";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { CHECKS, runVectors } from "./vectors.js";

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "tests", "vectors");
const files = Object.fromEntries(readdirSync(dir).filter((f) => f.endsWith(".json")).map((f) => [f, JSON.parse(readFileSync(path.join(dir, f), "utf8"))]));

test("every vector file has a check", () => {
  for (const name of Object.keys(files)) if (!(name in CHECKS)) throw new Error(`no check for ${name}`);
});

for (const name of Object.keys(CHECKS)) {
  test(`vectors ${name}`, async () => {
    const counts = await runVectors({ [name]: files[name] });
    if (!(counts[name] > 0)) throw new Error(`${name}: nothing checked`);
  });
}
