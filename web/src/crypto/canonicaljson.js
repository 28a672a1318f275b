// Canonical JSON (Matrix style) and a strict parser, as crypto/canonicaljson.py.
import { CanonicalJsonError } from "./errors.js";
import { utf8, fromUtf8 } from "./bytes.js";

export const MAX_SAFE_INT = Number.MAX_SAFE_INTEGER;
const MAX_ENCODE_DEPTH = 64;

/** Compare strings by Unicode code point (JavaScript's default compares UTF-16 units). */
function byCodePoint(a, b) {
  const x = [...a];
  const y = [...b];
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function checkString(text) {
  if (!text.isWellFormed()) throw new CanonicalJsonError("string is not valid Unicode (lone surrogate)");
}

function write(value, depth, out) {
  if (value === null || value === true || value === false) {
    out.push(String(value));
    return;
  }
  if (typeof value === "string") {
    checkString(value);
    out.push(JSON.stringify(value));
    return;
  }
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new CanonicalJsonError("floats are not allowed in canonical JSON");
    if (!Number.isSafeInteger(value)) throw new CanonicalJsonError("integer outside ±(2**53 - 1)");
    out.push(String(value === 0 ? 0 : value));
    return;
  }
  if (depth >= MAX_ENCODE_DEPTH) throw new CanonicalJsonError(`JSON nested deeper than ${MAX_ENCODE_DEPTH}`);
  if (Array.isArray(value)) {
    out.push("[");
    value.forEach((item, i) => {
      if (i) out.push(",");
      write(item, depth + 1, out);
    });
    out.push("]");
    return;
  }
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort(byCodePoint);
    out.push("{");
    keys.forEach((key, i) => {
      checkString(key);
      if (i) out.push(",");
      out.push(JSON.stringify(key), ":");
      write(value[key], depth + 1, out);
    });
    out.push("}");
    return;
  }
  throw new CanonicalJsonError(`${typeof value} is not a JSON type`);
}

/** The canonical JSON text of a value; throws CanonicalJsonError. */
export function canonicalText(value) {
  const out = [];
  write(value, 0, out);
  return out.join("");
}

/** The canonical JSON bytes (UTF-8) of a value. */
export function encodeCanonical(value) {
  return utf8(canonicalText(value));
}

const ESCAPES = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
const NUMBER = /-?(?:0|[1-9][0-9]*)/y;
const WS = /[ \t\n\r]*/y;

class Parser {
  constructor(text, maxDepth) {
    this.text = text;
    this.pos = 0;
    this.maxDepth = maxDepth;
  }

  fail(why) {
    throw new CanonicalJsonError(`invalid JSON at ${this.pos}: ${why}`);
  }

  ws() {
    WS.lastIndex = this.pos;
    WS.exec(this.text);
    this.pos = WS.lastIndex;
  }

  value(depth) {
    this.ws();
    const c = this.text[this.pos];
    if (c === "{" || c === "[") {
      if (depth >= this.maxDepth) throw new CanonicalJsonError(`JSON nested deeper than ${this.maxDepth}`);
      return c === "{" ? this.object(depth + 1) : this.array(depth + 1);
    }
    if (c === '"') return this.string();
    for (const [word, val] of [["true", true], ["false", false], ["null", null]]) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return val;
      }
    }
    return this.number();
  }

  number() {
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (!m) this.fail("unexpected character (NaN and Infinity are not allowed)");
    this.pos = NUMBER.lastIndex;
    const next = this.text[this.pos];
    if (next === "." || next === "e" || next === "E") throw new CanonicalJsonError("floats are not allowed");
    if (/[0-9]/.test(next ?? "")) this.fail("leading zero");
    if (m[0].length > 17) throw new CanonicalJsonError("integer outside ±(2**53 - 1)");
    const value = Number(m[0]);
    if (!Number.isSafeInteger(value)) throw new CanonicalJsonError("integer outside ±(2**53 - 1)");
    return value;
  }

  string() {
    this.pos++;
    let out = "";
    for (;;) {
      const c = this.text[this.pos++];
      if (c === undefined) this.fail("unterminated string");
      if (c === '"') break;
      if (c < " ") this.fail("control character in string");
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = this.text[this.pos++];
      if (e === "u") {
        const code = this.text.slice(this.pos, this.pos + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(code)) this.fail("bad \\u escape");
        out += String.fromCharCode(parseInt(code, 16));
        this.pos += 4;
      } else if (e in ESCAPES) {
        out += ESCAPES[e];
      } else {
        this.fail("bad escape");
      }
    }
    checkString(out);
    return out;
  }

  array(depth) {
    this.pos++;
    const out = [];
    this.ws();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth));
      this.ws();
      const c = this.text[this.pos++];
      if (c === "]") return out;
      if (c !== ",") this.fail("expected , or ]");
    }
  }

  object(depth) {
    this.pos++;
    const out = {};
    this.ws();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.text[this.pos] !== '"') this.fail("expected a string key");
      const key = this.string();
      if (Object.prototype.hasOwnProperty.call(out, key)) throw new CanonicalJsonError(`duplicate key ${JSON.stringify(key)}`);
      this.ws();
      if (this.text[this.pos++] !== ":") this.fail("expected :");
      Object.defineProperty(out, key, { value: this.value(depth), enumerable: true, writable: true, configurable: true });
      this.ws();
      const c = this.text[this.pos++];
      if (c === "}") return out;
      if (c !== ",") this.fail("expected , or }");
    }
  }
}

/**
 * Parse JSON strictly (CanonicalJsonError): invalid UTF-8, a byte-order mark, duplicate
 * keys, NaN/Infinity, floats, integers outside ±(2**53 - 1), lone surrogates and nesting
 * deeper than `maxDepth` are refused.
 */
export function loadsStrict(data, maxDepth = 32) {
  let text = data;
  if (data instanceof Uint8Array) {
    try {
      text = fromUtf8(data);
    } catch {
      throw new CanonicalJsonError("JSON is not valid UTF-8");
    }
  }
  if (typeof text !== "string") throw new CanonicalJsonError("JSON input must be bytes or a string");
  if (text.startsWith("\ufeff")) throw new CanonicalJsonError("JSON starts with a byte-order mark");
  const parser = new Parser(text, maxDepth);
  const value = parser.value(0);
  parser.ws();
  if (parser.pos !== text.length) parser.fail("trailing characters");
  return value;
}
