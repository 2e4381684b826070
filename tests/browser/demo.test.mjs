// The demo page in headless Chromium (Debian's /usr/bin/chromium) through Playwright:
// uploads food.jpg, runs both APIs, checks what the page shows, and saves screenshots.
//   DEMO_URL=http://127.0.0.1:PORT/ DATA_DIR=... OUT_DIR=... node demo.test.mjs [full|classify-down]
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const url = process.env.DEMO_URL;
const data = process.env.DATA_DIR;
const out = process.env.OUT_DIR;
const mode = process.argv[2] || "full";
assert.ok(url && data && out, "set DEMO_URL, DATA_DIR and OUT_DIR");
mkdirSync(out, { recursive: true });

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  assert.equal(await page.title(), "edgecar demo: WebAssembly functions beside Dapr");
  await page.setInputFiles("#file", `${data}/images/food.jpg`);
  await page.waitForSelector("#preview:not([hidden])");
  assert.match(await page.textContent("#status"), /food\.jpg/);

  const status = () => page.textContent("#status");
  const isError = () => page.$eval("#status", (e) => e.classList.contains("error"));

  if (mode === "full") {
    await page.click("#grayscale");
    await page.waitForSelector("#result-image:not([hidden])");
    const size = await page.$eval("#result-image", (img) => img.decode().then(() => [img.naturalWidth, img.naturalHeight]));
    assert.deepEqual(size, [483, 358], "the grey image has the input's size");
    assert.match(await page.textContent("#timing"), /^grayscale took \d+ ms$/);
    await page.screenshot({ path: `${out}/grayscale.png`, fullPage: true });

    await page.click("#classify");
    await page.waitForSelector("#sentence:not([hidden])");
    assert.equal((await page.textContent("#sentence")).trim(), "It is very likely a hotdog in the picture");
    assert.equal(await page.getAttribute("#sentence a", "href"), "https://www.google.com/search?q=hotdog");
    const top = await page.$$eval("#top5 li", (lis) => lis.map((li) => li.textContent));
    assert.equal(top.length, 5);
    assert.match(top[0], /^hotdog \d+\.\d%$/);
    assert.match(await page.textContent("#timing"), /^classify took \d+ ms$/);
    // The events panel lists both requests.
    await page.waitForFunction(() => {
      const text = document.querySelector("#event-rows").textContent;
      return text.includes("classify") && text.includes("grayscale");
    }, null, { timeout: 10000 });
    await page.screenshot({ path: `${out}/classify.png`, fullPage: true });

    // Not an image: refused by the page before any request.
    await page.setInputFiles("#file", { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("hello") });
    assert.match(await status(), /"notes\.txt" is not an image/);
    assert.ok(await isError());
    // Too large: refused by the page too.
    await page.setInputFiles("#file", { name: "huge.jpg", mimeType: "image/jpeg", buffer: Buffer.alloc(11 * 1024 * 1024) });
    assert.match(await status(), /too large/);
    // Claims to be an image but is not: the service says so, the page shows it.
    await page.setInputFiles("#file", { name: "fake.png", mimeType: "image/png", buffer: Buffer.from("not really a png") });
    await page.click("#classify");
    await page.waitForFunction(() => document.querySelector("#status").classList.contains("error"));
    assert.match(await status(), /not an image the service can read/);
    await page.screenshot({ path: `${out}/corrupt-upload.png`, fullPage: true });
  } else if (mode === "classify-down") {
    await page.click("#classify");
    await page.waitForFunction(() => document.querySelector("#status").classList.contains("error"));
    assert.match(await status(), /classify service is not available/);
    await page.screenshot({ path: `${out}/classify-down.png`, fullPage: true });
    await page.click("#grayscale");
    await page.waitForSelector("#result-image:not([hidden])");
    assert.ok(!(await isError()));
  }
  assert.deepEqual(errors, [], "no script errors on the page");
} finally {
  await browser.close();
}
console.log(`browser test (${mode}): ok, screenshots in ${out}`);
