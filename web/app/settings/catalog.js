// The catalog (docs/business.md "Catalog and orders"): products with image, price,
// currency, stock (a count that orders take from, or in/out of stock by hand) and
// visibility (a hidden product is `discontinued`: not in the public catalog, no card). Added with POST, changed with PATCH /business/products.
import { fill, h } from "../dom.js";
import { t } from "../i18n.js";
import { formatAmount } from "../shop.js";
import { choice, input, labelled, part, statusLine, uploadImage } from "./forms.js";

/** The minor units of `currency` (2 when the browser does not know it, as the node). */
export function exponentOf(currency) {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
  } catch {
    return 2;
  }
}

/** `"12.5"`, `"12,50"` in EUR -> 1250; throws on anything that is not an amount. */
export function parsePrice(text, currency) {
  const exponent = exponentOf(currency);
  const m = /^(\d{1,10})(?:[.,](\d+))?$/.exec(String(text).trim());
  if (!m || (m[2] ?? "").length > exponent) throw new Error(t("badPrice", { text, currency }));
  return Number(m[1]) * 10 ** exponent + Number((m[2] ?? "").padEnd(exponent, "0") || 0);
}

export function priceText(minor, currency) {
  return formatAmount(minor, currency).replace(/ [A-Z]{3}$/, "");
}

function productForm(ctx, product, done) {
  const editing = Boolean(product);
  const p = product ?? { sku: "", name: "", description: "", price_minor: 0, currency: ctx.defaultCurrency(), availability: "in_stock", image: null };
  const sku = input({ value: p.sku, maxlength: 64, pattern: "[A-Za-z0-9._\\-]{1,64}", required: true, disabled: editing });
  const name = input({ value: p.name, maxlength: 200, required: true });
  const description = h("textarea", { rows: 2, maxlength: 2000 });
  description.value = p.description ?? "";
  const price = input({ value: product ? priceText(p.price_minor, p.currency) : "", inputmode: "decimal", required: true, placeholder: "12.50" });
  const currency = input({ value: p.currency, maxlength: 3, pattern: "[A-Za-z]{3}", required: true, autocapitalize: "characters" });
  const count = input({ type: "number", min: 0, max: 1e9, step: 1, value: p.stock ?? "" });
  const stock = choice([["in_stock", t("inStock")], ["out_of_stock", t("outOfStock")]], p.availability === "out_of_stock" ? "out_of_stock" : "in_stock");
  const visible = h("input", { type: "checkbox", checked: p.availability !== "discontinued" });
  const image = h("input", { type: "file", accept: "image/png,image/jpeg,image/gif,image/webp" });
  const status = statusLine();
  const form = h("form", { class: "product-form", "aria-label": editing ? t("editProduct", { name: p.name }) : t("newProduct") },
    h("h3", {}, editing ? t("editProduct", { name: p.name }) : t("newProduct")),
    labelled(t("sku"), sku), labelled(t("productName"), name), labelled(t("productDescription"), description),
    h("div", { class: "row" }, labelled(t("price"), price), labelled(t("currency"), currency)),
    labelled(t("stockCount"), count, t("stockCountHint")), labelled(t("stock"), stock),
    h("label", { class: "check" }, visible, t("visibleInCatalog")),
    labelled(p.image ? t("replaceImage") : t("productImage"), image),
    h("div", { class: "row" }, h("button", { type: "submit" }, editing ? t("saveProduct") : t("addProduct")),
      h("button", { type: "button", onclick: () => done(false) }, t("cancel"))), status);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    status.run(async () => {
      const code = currency.value.trim().toUpperCase();
      const counted = count.value.trim() !== "";
      const body = { name: name.value.trim(), description: description.value.trim(), price_minor: parsePrice(price.value, code),
        currency: code, stock: counted ? Number(count.value) : null };
      if (!visible.checked) body.availability = "discontinued";
      else if (!counted) body.availability = stock.value;
      else if (p.availability === "discontinued") body.availability = Number(count.value) > 0 ? "in_stock" : "out_of_stock";
      if (image.files.length) body.image = await uploadImage(ctx.client, image.files[0]);
      const saved = editing ? await ctx.api("PATCH", `/products/${encodeURIComponent(p.sku)}`, body)
        : await ctx.api("POST", "/products", { sku: sku.value.trim(), ...body });
      ctx.shop.products.set(saved.sku, saved);
      done(true);
    }, t("productSaved"));
  });
  return form;
}

function productRow(p, edit, remove) {
  const shown = p.availability === "discontinued" ? t("hidden") : p.availability === "out_of_stock" ? t("outOfStock")
    : Number.isInteger(p.stock) ? t("piecesLeft", { n: p.stock }) : t("inStock");
  return h("li", { class: "product-row" },
    h("span", {}, h("strong", {}, p.name), " ", h("span", { class: "address" }, p.sku)),
    h("span", {}, formatAmount(p.price_minor, p.currency)), h("span", { class: "label" }, shown),
    p.image ? h("span", { class: "hint" }, t("hasImage")) : null,
    h("button", { type: "button", "aria-label": t("editNamed", { name: p.name }), onclick: () => edit(p) }, t("edit")),
    h("button", { type: "button", "aria-label": t("removeNamed", { name: p.name }), onclick: () => remove(p) }, t("remove")));
}

export async function catalogSection(ctx) {
  const list = h("ul", { class: "products-list", "aria-label": t("products") });
  const editor = h("div", {});
  const problem = statusLine();
  const load = async () => {
    const { products } = await ctx.api("GET", "/products");
    fill(list, products.length ? products.map((p) => productRow(p, edit, remove)) : h("li", { class: "empty" }, t("noProducts")));
  };
  const remove = (p) => problem.run(async () => {
    await ctx.api("DELETE", `/products/${encodeURIComponent(p.sku)}`);
    ctx.shop.products.delete(p.sku);
    await load();
  }, t("productRemoved"));
  const edit = (product) => {
    fill(editor, productForm(ctx, product, (saved) => { fill(editor); if (saved) problem.run(load, t("productSaved")); }));
    editor.querySelector("input:not([disabled]), textarea")?.focus();
  };
  await load();
  return part("set-catalog", t("catalog"), list,
    h("button", { type: "button", onclick: () => edit(null) }, t("addProduct")), editor, problem);
}
