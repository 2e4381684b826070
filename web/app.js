// The demo page: no framework, no build step; it talks to the web app's API only.
"use strict";
const MAX_BYTES = 10 * 1024 * 1024;
const $ = (id) => document.getElementById(id);
let file = null;

function setStatus(text, error = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", error);
}

function clearResult() {
  for (const id of ["result-image", "sentence", "top5", "timing"]) $(id).hidden = true;
  $("top5").replaceChildren();
  $("sentence").replaceChildren();
}

function choose(f) {
  clearResult();
  if (!f) return;
  if (!f.type.startsWith("image/")) {
    file = null;
    $("grayscale").disabled = $("classify").disabled = true;
    return setStatus(`"${f.name}" is not an image: choose a JPEG, PNG, GIF, BMP or WebP file.`, true);
  }
  if (f.size > MAX_BYTES) {
    file = null;
    $("grayscale").disabled = $("classify").disabled = true;
    return setStatus(`"${f.name}" is too large (${(f.size / 1048576).toFixed(1)} MB); the limit is 10 MB.`, true);
  }
  file = f;
  const preview = $("preview");
  preview.src = URL.createObjectURL(f);
  preview.hidden = false;
  $("drop-hint").hidden = true;
  $("grayscale").disabled = $("classify").disabled = false;
  setStatus(`${f.name} (${Math.round(f.size / 1024)} KB): choose Grayscale or Classify.`);
}

// The classify sentence names the label with a search link; it is rebuilt from the
// label with DOM calls rather than inserted as HTML.
function showSentence(sentence, label) {
  const p = $("sentence");
  const at = label ? sentence.indexOf("<a ") : -1;
  if (at < 0) {
    p.textContent = sentence;
  } else {
    const a = document.createElement("a");
    a.href = "https://www.google.com/search?q=" + encodeURIComponent(label);
    a.textContent = label;
    a.target = "_blank";
    a.rel = "noopener";
    const after = sentence.slice(sentence.indexOf("</a>") + 4);
    p.replaceChildren(document.createTextNode(sentence.slice(0, at)), a, document.createTextNode(after));
  }
  p.hidden = false;
}

async function errorMessage(res) {
  let detail = "";
  try {
    const body = await res.json();
    detail = body.message || "";
  } catch (_) { /* not JSON */ }
  switch (res.status) {
    case 400: return `The image could not be read${detail ? ": " + detail : "."}`;
    case 413: return "The image is too large for the service.";
    case 415: return "That file is not an image the service can read (JPEG, PNG, GIF, BMP or WebP).";
    case 429: return detail || "Too many requests: try again in a minute.";
    case 503: return detail ? detail.charAt(0).toUpperCase() + detail.slice(1) + "." : "The service is not available right now.";
    case 504: return "The service took too long to answer.";
    default: return `The service failed (HTTP ${res.status})${detail ? ": " + detail : "."}`;
  }
}

async function run(api) {
  if (!file) return;
  clearResult();
  $("grayscale").disabled = $("classify").disabled = true;
  setStatus(api === "classify" ? "Classifying..." : "Turning it grey...");
  const started = performance.now();
  try {
    const res = await fetch("/api/hello", {
      method: "POST",
      headers: { api, "Content-Type": file.type || "application/octet-stream", Accept: api === "classify" ? "application/json" : "image/*" },
      body: file,
    });
    const ms = performance.now() - started;
    if (!res.ok) return setStatus(await errorMessage(res), true);
    if (api === "grayscale") {
      const img = $("result-image");
      img.src = URL.createObjectURL(await res.blob());
      img.hidden = false;
      setStatus("Done: the grayscale version.");
    } else {
      const body = await res.json();
      showSentence(body.sentence, body.top && body.top.length ? body.top[0].label : "");
      const list = $("top5");
      for (const t of body.top || []) {
        const li = document.createElement("li");
        const score = document.createElement("span");
        score.textContent = ` ${(t.score * 100).toFixed(1)}%`;
        li.append(document.createTextNode(t.label), score);
        list.append(li);
      }
      list.hidden = !list.children.length;
      setStatus("Done: the top classes.");
    }
    $("timing").textContent = `${api} took ${ms.toFixed(0)} ms`;
    $("timing").hidden = false;
  } catch (e) {
    setStatus("The demo's web service cannot be reached: is it still running?", true);
  } finally {
    $("grayscale").disabled = $("classify").disabled = !file;
    refreshEvents();
  }
}

async function refreshEvents() {
  try {
    const res = await fetch("/api/events", { headers: { Accept: "application/json" } });
    if (!res.ok) return;
    const events = await res.json();
    const rows = events.slice(0, 10).map((e) => {
      const tr = document.createElement("tr");
      for (const v of [e.time, e.operation, `${Math.round(e.bytes / 1024)} KB`, e.caller]) {
        const td = document.createElement("td");
        td.textContent = v;
        tr.append(td);
      }
      return tr;
    });
    if (rows.length) $("event-rows").replaceChildren(...rows);
  } catch (_) { /* the panel keeps its last state */ }
}

$("file").addEventListener("change", (e) => choose(e.target.files[0]));
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  choose(e.dataTransfer.files[0]);
});
drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") $("file").click(); });
$("grayscale").addEventListener("click", () => run("grayscale"));
$("classify").addEventListener("click", () => run("classify"));
refreshEvents();
setInterval(refreshEvents, 5000);
