// Camera scanning through BarcodeDetector, loaded only when the keeper taps the camera button.

import { t } from "./i18n.js";
import { h, sheet, toast } from "./ui.js";

const WANTED = ["code_128", "code_39", "code_93", "codabar", "ean_13", "ean_8", "itf", "upc_a", "qr_code"];

export async function scanBarcode() {
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices) {
    toast(t("scan.unsupported"), "warn");
    return null;
  }
  let formats = WANTED;
  try {
    const supported = await window.BarcodeDetector.getSupportedFormats();
    formats = WANTED.filter((f) => supported.indexOf(f) >= 0);
  } catch (error) {
    // keep the wish list
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch (error) {
    toast(t("scan.no_camera"), "warn");
    return null;
  }
  const detector = new window.BarcodeDetector({ formats });
  const video = h("video", { class: "scan-video", playsinline: true, muted: true, autoplay: true });
  video.srcObject = stream;
  return new Promise((resolve) => {
    let done = false;
    const stop = () => {
      done = true;
      stream.getTracks().forEach((track) => track.stop());
    };
    const close = sheet({
      title: t("scan.title"),
      body: h("div", { class: "scan-box" }, video, h("p", { class: "sheet-text" }, t("scan.hint"))),
      actions: [{ label: t("common.cancel"), onClick: (c) => c() }],
      onClose: () => {
        if (!done) {
          stop();
          resolve(null);
        }
      },
    });
    const tick = async () => {
      if (done) return;
      try {
        const found = await detector.detect(video);
        if (found.length && found[0].rawValue) {
          stop();
          close();
          resolve(found[0].rawValue);
          return;
        }
      } catch (error) {
        // the video is not ready yet
      }
      setTimeout(tick, 200);
    };
    video.play().catch(() => {});
    tick();
  });
}
