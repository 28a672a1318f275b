// The app shell at /app/: loads kontor.js and says so. The team inbox will live here.
import { ready, VERSION } from "../src/kontor.js";

const status = document.getElementById("status");
ready().then(
  () => {
    status.textContent = `kontor.js ${VERSION} is loaded: end-to-end encryption runs in this page.`;
    document.body.dataset.kontor = "ready";
  },
  (err) => {
    status.textContent = `kontor.js could not start: ${err}`;
    document.body.dataset.kontor = "failed";
  },
);
