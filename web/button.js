// The chat button for a business's own website:
//
//   <script src="https://shop.example/_kontor/web/button.js" defer
//           data-label="Chat with us" data-product="SENCHA" data-open="popup"></script>
//
// adds one real <button> (keyboard and screen readers know it) at the bottom right of
// the page, or inside the element named by data-target (a CSS selector), that opens the
// business's chat page, https://<node>/chat, in a popup window or a new tab
// (data-open="tab"). Never in an iframe: a cross-site iframe gets no storage for the
// customer's keys. The script loads nothing else, sets no cookie and sends nothing; the
// opened page is cut off from the website (noopener, noreferrer).
(() => {
  const script = document.currentScript;
  if (!script || !script.src) return;
  const node = new URL(script.src).origin;
  const data = script.dataset;
  const label = (data.label || (navigator.language.toLowerCase().startsWith("de") ? "Chat mit uns" : "Chat with us")).slice(0, 60);
  const chat = new URL("/chat", node);
  if (data.product && /^[A-Za-z0-9._-]{1,64}$/.test(data.product)) chat.searchParams.set("product", data.product);
  const popup = data.open !== "tab";

  const open = () => {
    const features = popup ? "popup,width=420,height=720,noopener,noreferrer" : "noopener,noreferrer";
    window.open(chat.href, "_blank", features);
  };

  const button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.setAttribute("aria-label", `${label} (${popup ? "opens a window" : "opens a new tab"})`);
  button.dataset.kontorChat = "";
  button.addEventListener("click", open);
  const target = data.target ? document.querySelector(data.target) : null;
  if (!target) {
    Object.assign(button.style, {
      position: "fixed", right: "16px", bottom: "16px", zIndex: "2147483000",
      padding: "12px 18px", border: "0", borderRadius: "24px", font: "600 16px/1.2 system-ui, sans-serif",
      color: "#fff", background: data.color && /^#[0-9a-fA-F]{3,8}$/.test(data.color) ? data.color : "#2e6fd8",
      boxShadow: "0 2px 8px rgba(0,0,0,.25)", cursor: "pointer",
    });
  }
  const place = () => (target || document.body).appendChild(button);
  if (document.body) place();
  else document.addEventListener("DOMContentLoaded", place, { once: true });
})();
