// Telling an agent a customer wrote: a desktop notification while the tab is hidden (the
// permission is asked only when the agent clicks for it, never on load), a short sound
// made with WebAudio (no sound file; switched off per browser), and the unread count in
// the tab's title. Choices are kept in this browser's localStorage.
import { h } from "./dom.js";
import { t } from "./i18n.js";

const SOUND_KEY = "kontor.inbox.sound";
const DESKTOP_KEY = "kontor.inbox.desktop";
const MAX_BODY = 120;

/** Two soft notes (E5 then A5), 0.25 s, drawn by oscillators: nothing is downloaded. */
export function chime(audio) {
  const start = audio.currentTime + 0.01;
  for (const [i, freq] of [659.25, 880].entries()) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    const at = start + i * 0.12;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.2, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.13);
    osc.connect(gain).connect(audio.destination);
    osc.start(at);
    osc.stop(at + 0.14);
  }
}

export class Alerts {
  constructor(storage = localStorage) {
    this.storage = storage;
    this.audio = null;
    this.shown = new Map();
  }

  get soundOn() {
    return this.storage.getItem(SOUND_KEY) !== "off";
  }

  set soundOn(on) {
    this.storage.setItem(SOUND_KEY, on ? "on" : "off");
  }

  get supported() {
    return typeof Notification === "function";
  }

  /** Desktop notifications: granted by the browser and not switched off here. */
  get desktopOn() {
    return this.supported && Notification.permission === "granted" && this.storage.getItem(DESKTOP_KEY) !== "off";
  }

  /** Ask for the permission (call from a click only) or switch them on and off. */
  async toggleDesktop() {
    if (!this.supported) return false;
    if (Notification.permission === "default") await Notification.requestPermission();
    else if (Notification.permission === "granted") this.storage.setItem(DESKTOP_KEY, this.desktopOn ? "off" : "on");
    if (Notification.permission === "granted" && this.storage.getItem(DESKTOP_KEY) === null) this.storage.setItem(DESKTOP_KEY, "on");
    return this.desktopOn;
  }

  /** Browsers let a page make sound only after a gesture: make the context on one. */
  unlock() {
    if (this.audio || typeof AudioContext !== "function") return;
    this.audio = new AudioContext();
  }

  playSound() {
    if (!this.soundOn || !this.audio) return;
    if (this.audio.state === "suspended") this.audio.resume().catch(() => undefined);
    chime(this.audio);
  }

  /** A customer's message arrived; `current` says whether it is in view right now. */
  customerWrote({ customer, name, text }, { visible, current, onopen }) {
    if (visible && current) return;
    this.playSound();
    if (visible || !this.desktopOn) return;
    this.shown.get(customer)?.close();
    const note = new Notification(name, { body: String(text).slice(0, MAX_BODY), tag: `kontor:${customer}` });
    note.onclick = () => { window.focus(); note.close(); onopen(customer); };
    this.shown.set(customer, note);
  }

  /** The page is in view again: what it notified is seen. */
  clear() {
    for (const note of this.shown.values()) note.close();
    this.shown.clear();
  }
}

/** `(3) Kontor inbox`: the unread count first, so it shows in a narrow tab. */
export function titleWith(unread, name) {
  return unread ? `(${unread}) ${name}` : name;
}

/** The controls for this browser: desktop notifications and the sound. */
export function alertSettings(alerts, onchange) {
  const state = () => (!alerts.supported ? t("notificationsUnsupported")
    : Notification.permission === "denied" ? t("notificationsBlocked")
      : alerts.desktopOn ? t("notificationsOn") : t("notificationsOff"));
  const status = h("p", { class: "hint", id: "desktop-state" }, state());
  const desktop = h("button", { type: "button", "aria-pressed": String(alerts.desktopOn), "aria-describedby": "desktop-state",
    disabled: !alerts.supported || Notification.permission === "denied",
    onclick: async () => {
      alerts.unlock();
      await alerts.toggleDesktop();
      desktop.setAttribute("aria-pressed", String(alerts.desktopOn));
      status.textContent = state();
      onchange?.();
    } }, t("desktopNotifications"));
  const sound = h("input", { type: "checkbox", checked: alerts.soundOn, onchange: () => {
    alerts.soundOn = sound.checked;
    alerts.unlock();
    if (sound.checked) alerts.playSound();
  } });
  return h("section", { class: "settings-part", id: "set-alerts", "aria-labelledby": "alerts-title" },
    h("h2", { id: "alerts-title" }, t("thisBrowser")),
    h("div", { class: "row" }, desktop), status,
    h("label", { class: "check" }, sound, t("soundOnMessage")));
}
